package deployer

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/clock"
	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// Waits bounds the waits of a deploy.
type Waits struct {
	// Poll is the interval between status reads. Default 2 s.
	Poll time.Duration
	// Active bounds the wait for a function to become Active after a
	// change. Default 5 min.
	Active time.Duration
	// Warm bounds the wait for a new version's provisioned instances;
	// the alias does not move before they are ready. Default 10 min
	// (SCF starts about 100 provisioned instances a minute).
	Warm time.Duration
	// Sleep waits; nil is clock.Sleep. Tests pass a fake.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (w Waits) withDefaults() Waits {
	if w.Poll <= 0 {
		w.Poll = 2 * time.Second
	}
	if w.Active <= 0 {
		w.Active = 5 * time.Minute
	}
	if w.Warm <= 0 {
		w.Warm = 10 * time.Minute
	}
	if w.Sleep == nil {
		w.Sleep = clock.Sleep
	}
	return w
}

// Result is what [Apply] did.
type Result struct {
	// Version is the version the plan published, "" if none.
	Version string
	// Done lists the actions carried out, in order.
	Done []Action
}

// Apply carries out plan (from [Plan] for d and cur) through api. It stops
// at the first failure: what was done stays done, and a second run plans
// only what is left. progress, if not nil, is called after each action.
func Apply(ctx context.Context, api SCFAPI, d Desired, cur Current, plan []Action, w Waits, progress func(Action, string)) (Result, error) {
	w = w.withDefaults()
	var res Result
	for _, a := range plan {
		detail, err := apply(ctx, api, d, cur, &res, a, w)
		if err != nil {
			return res, fmt.Errorf("deployer: %s: %s: %w", d.Name, a.Kind, err)
		}
		res.Done = append(res.Done, a)
		if progress != nil {
			progress(a, detail)
		}
	}
	return res, nil
}

func apply(ctx context.Context, api SCFAPI, d Desired, cur Current, res *Result, a Action, w Waits) (string, error) {
	ns, name := &d.Namespace, &d.Name
	switch a.Kind {
	case CreateFunction:
		req := scf.NewCreateFunctionRequest()
		req.FunctionName, req.Namespace = name, ns
		req.Code = &scf.Code{ZipFile: common.StringPtr(base64.StdEncoding.EncodeToString(d.Code))}
		c := d.Config
		req.Type, req.Runtime, req.Description = &c.Type, &c.Runtime, &c.Description
		if c.Handler != "" {
			req.Handler = &c.Handler
		}
		if c.Role != "" {
			req.Role = &c.Role
		}
		req.MemorySize, req.Timeout, req.InitTimeout = i64(c.MemoryMB), i64(c.TimeoutS), i64(c.InitTimeoutS)
		req.Environment = env(c.Env)
		req.InstanceConcurrencyConfig = concurrency(c.MaxConcurrency)
		if _, err := api.CreateFunctionWithContext(ctx, req); err != nil {
			return "", err
		}
		return "", waitActive(ctx, api, d, w)
	case UpdateCode:
		req := scf.NewUpdateFunctionCodeRequest()
		req.FunctionName, req.Namespace = name, ns
		req.ZipFile = common.StringPtr(base64.StdEncoding.EncodeToString(d.Code))
		if d.Config.Handler != "" {
			req.Handler = &d.Config.Handler
		}
		if _, err := api.UpdateFunctionCodeWithContext(ctx, req); err != nil {
			return "", err
		}
		return "", waitActive(ctx, api, d, w)
	case UpdateConfig:
		c := d.Config
		req := scf.NewUpdateFunctionConfigurationRequest()
		req.FunctionName, req.Namespace = name, ns
		req.Description, req.Runtime, req.Role = &c.Description, &c.Runtime, &c.Role
		req.MemorySize, req.Timeout, req.InitTimeout = i64(c.MemoryMB), i64(c.TimeoutS), i64(c.InitTimeoutS)
		req.Environment = env(c.Env)
		req.InstanceConcurrencyConfig = concurrency(c.MaxConcurrency)
		if _, err := api.UpdateFunctionConfigurationWithContext(ctx, req); err != nil {
			return "", err
		}
		return "", waitActive(ctx, api, d, w)
	case Publish:
		req := scf.NewPublishVersionRequest()
		req.FunctionName, req.Namespace = name, ns
		req.Description = common.StringPtr("scfgate deploy: code sha256 " + d.CodeSHA256)
		resp, err := api.PublishVersionWithContext(ctx, req)
		if err != nil {
			return "", err
		}
		if resp.Response != nil {
			res.Version = tencentcloud.Value(resp.Response.FunctionVersion)
		}
		if res.Version == "" {
			return "", fmt.Errorf("PublishVersion answered no version")
		}
		return "version " + res.Version, waitActive(ctx, api, d, w)
	case Provision:
		v := cur.AliasVersion
		if a.OnNewVersion {
			v = res.Version
		}
		req := scf.NewPutProvisionedConcurrencyConfigRequest()
		req.FunctionName, req.Namespace, req.Qualifier = name, ns, &v
		req.VersionProvisionedConcurrencyNum = common.Uint64Ptr(uint64(a.Provisioned))
		if _, err := api.PutProvisionedConcurrencyConfigWithContext(ctx, req); err != nil {
			return "", err
		}
		return waitWarm(ctx, api, d, v, a.Provisioned, w)
	case CreateAlias:
		req := scf.NewCreateAliasRequest()
		req.FunctionName, req.Namespace, req.Name, req.FunctionVersion = name, ns, &d.Alias, &res.Version
		_, err := api.CreateAliasWithContext(ctx, req)
		return d.Alias + " -> " + res.Version, err
	case MoveAlias:
		req := scf.NewUpdateAliasRequest()
		req.FunctionName, req.Namespace, req.Name, req.FunctionVersion = name, ns, &d.Alias, &res.Version
		// An empty routing drops any canary weights: the alias serves
		// the new version alone.
		req.RoutingConfig = &scf.RoutingConfig{AdditionalVersionWeights: []*scf.VersionWeight{}}
		_, err := api.UpdateAliasWithContext(ctx, req)
		return fmt.Sprintf("%s: %s -> %s", d.Alias, cur.AliasVersion, res.Version), err
	case DeleteTrigger:
		t := a.Trigger
		req := scf.NewDeleteTriggerRequest()
		req.FunctionName, req.Namespace, req.TriggerName, req.Type, req.Qualifier = name, ns, &t.Name, &t.Type, &t.Qualifier
		if t.Desc != "" {
			req.TriggerDesc = &t.Desc
		}
		_, err := api.DeleteTriggerWithContext(ctx, req)
		return "", err
	case CreateTrigger:
		t := a.Trigger
		req := scf.NewCreateTriggerRequest()
		req.FunctionName, req.Namespace, req.TriggerName, req.Type, req.Qualifier = name, ns, &t.Name, &t.Type, &t.Qualifier
		req.TriggerDesc = &t.Desc
		req.Enable = common.StringPtr("CLOSE")
		if t.Enable {
			req.Enable = common.StringPtr("OPEN")
		}
		if t.Argument != "" {
			req.CustomArgument = &t.Argument
		}
		_, err := api.CreateTriggerWithContext(ctx, req)
		return "", err
	}
	return "", fmt.Errorf("unknown action %q", a.Kind)
}

// waitActive waits until the function's status is Active: SCF refuses
// the next change while it is Creating, Updating or Publishing.
func waitActive(ctx context.Context, api SCFAPI, d Desired, w Waits) error {
	// Time is counted in polls, not read from a clock, so a test's fake
	// Sleep bounds the wait as the real one does.
	for waited := time.Duration(0); ; waited += w.Poll {
		req := scf.NewGetFunctionRequest()
		req.FunctionName, req.Namespace, req.Qualifier = &d.Name, &d.Namespace, common.StringPtr("$LATEST")
		resp, err := api.GetFunctionWithContext(ctx, req)
		if err != nil {
			return fmt.Errorf("GetFunction: %w", err)
		}
		status := ""
		if resp.Response != nil {
			status = tencentcloud.Value(resp.Response.Status)
		}
		switch {
		case status == "" || status == "Active":
			return nil
		case strings.HasSuffix(status, "Failed"):
			return fmt.Errorf("function status %s: %s", status, tencentcloud.Value(resp.Response.StatusDesc))
		case waited >= w.Active:
			return fmt.Errorf("function still %s after %v", status, w.Active)
		}
		if err := w.Sleep(ctx, w.Poll); err != nil {
			return err
		}
	}
}

// waitWarm waits until version v has n provisioned instances available.
func waitWarm(ctx context.Context, api SCFAPI, d Desired, v string, n int, w Waits) (string, error) {
	for waited := time.Duration(0); ; waited += w.Poll {
		st, err := provisioned(ctx, api, d, v)
		if err != nil {
			return "", err
		}
		switch {
		case st.status == "Failed":
			return "", fmt.Errorf("provisioned concurrency on version %s failed: %s", v, st.reason)
		case st.available >= n && st.status != "InProgress":
			return fmt.Sprintf("version %s: %d of %d instances ready", v, st.available, n), nil
		case waited >= w.Warm:
			return "", fmt.Errorf("version %s has %d of %d provisioned instances ready after %v; the alias was not moved (raise --warm-timeout)", v, st.available, n, w.Warm)
		}
		if err := w.Sleep(ctx, w.Poll); err != nil {
			return "", err
		}
	}
}

func i64(n int) *int64 { return common.Int64Ptr(int64(n)) }

func env(m map[string]string) *scf.Environment {
	e := &scf.Environment{Variables: []*scf.Variable{}}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		e.Variables = append(e.Variables, &scf.Variable{Key: common.StringPtr(k), Value: common.StringPtr(m[k])})
	}
	return e
}

// concurrency is the InstanceConcurrencyConfig for n requests per
// instance: static (DynamicEnabled FALSE) request multi-concurrency, nil
// for one request per instance.
func concurrency(n int) *scf.InstanceConcurrencyConfig {
	if n <= 1 {
		return nil
	}
	return &scf.InstanceConcurrencyConfig{DynamicEnabled: common.StringPtr("FALSE"), MaxConcurrency: common.Uint64Ptr(uint64(n))}
}
