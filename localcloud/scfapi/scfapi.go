// Package scfapi serves the SCF API (service scf, version 2018-04-16) of
// localcloud from the runtime host: invocation (InvokeFunction, Invoke),
// deployment (CreateFunction, UpdateFunctionCode,
// UpdateFunctionConfiguration, GetFunction, DeleteFunction, ListFunctions,
// PublishVersion, ListVersionByFunction), aliases (CreateAlias,
// UpdateAlias, GetAlias, ListAliases, DeleteAlias), triggers
// (CreateTrigger, DeleteTrigger, ListTriggers) and provisioned concurrency
// (Put/Get/DeleteProvisionedConcurrencyConfig). Requests and responses use
// the official SDK's parameter types, so the wire shape is the SDK's own,
// and errors carry the codes of the SDK's errors.go. A deployer written
// against the SDK deploys to localcloud as to Tencent Cloud.
//
// Deployment, and where localcloud's behaviour is an assumption:
//   - Code comes as Code.ZipFile (CreateFunction) or ZipFile / Code.ZipFile
//     (UpdateFunctionCode): a base64 zip, unpacked into a folder of its own
//     under Options.CodeDir (file modes kept, no links, at most 500 MB
//     unpacked). COS, demo, git and image sources are
//     InvalidParameterValue.Code. Runtime must be Go1 (SCF's default,
//     Python2.7, is refused: localcloud runs executables only).
//   - CreateFunction and updates take effect at once: Status is Active
//     when the call returns (SCF goes through Creating/Updating; a deployer
//     that waits for Active works with both). The first request after an
//     update cold-starts the new code; requests in flight finish on the
//     old. UpdateFunctionConfiguration changes only the fields given; an
//     Environment given replaces every variable. Publish "TRUE" on either
//     update publishes a version.
//   - PublishVersion snapshots $LATEST's code folder and configuration;
//     later updates of $LATEST never change a published version.
//   - GetFunction reports everything a deployer sets (code size, handler,
//     runtime, type, memory, timeout, init timeout, environment, role,
//     description, InstanceConcurrencyConfig as given) and the function's
//     triggers, so a deployer can diff.
//   - DeleteFunction without Qualifier removes the function, its aliases,
//     triggers and provisioned concurrency; with one, that published
//     version, refused with UnsupportedOperation.AliasBind while an alias
//     routes to it.
//
// Aliases: $DEFAULT exists from creation, pointing at $LATEST, and cannot
// be deleted (InvalidParameterValue.Alias) but can be repointed. A named
// alias (1-64 letters, digits, '_' and '-', starting with a letter) points
// at a primary version and at most one additional version with a weight
// in [0, 1] (RoutingConfig.AdditionalVersionWeights): each request through
// it goes to the additional version with that probability. Rule-based
// routes (RoutingConfig.AddtionVersionMatchs, Tencent's spelling) are kept
// and reported but do not route locally. GetFunction with an alias
// describes its primary version. An unknown alias is ResourceNotFound.Alias
// in the alias actions and ResourceNotFound.Version where a qualifier is
// expected. No limit on the number of aliases is applied.
//
// Triggers (CreateTrigger, DeleteTrigger): types timer and http (Function
// URL). A timer's TriggerDesc is the 7-field cron (or {"cron":...}), its
// CustomArgument the event's Message, Enable OPEN (default) or CLOSE. A
// Function URL's TriggerDesc is {"AuthType":"NONE"|"CAM","NetConfig":
// {"EnableIntranet":bool,"EnableExtranet":bool}}; the front door serves it
// as soon as CreateTrigger returns, at the URL ListTriggers and
// GetFunction report. Qualifier defaults to $LATEST in both actions, as
// the SDK documents, so a trigger created on $DEFAULT is deleted by naming
// $DEFAULT. A function has at most one Function URL (an assumption:
// LimitExceeded.Trigger); web functions take no timers.
//
// Assumptions where Tencent's documentation is silent:
//   - An invocation that ran and failed (status 430, 433, 434, 405, 407) and
//     one refused for concurrency (432) answer success with Result.ErrMsg set
//     to {"errorCode","errorMessage","requestId","statusCode"}, the shape of
//     SCF's error bodies, and InvokeResult -1; RetMsg is empty. An event over
//     the size limit is the API error InvalidParameter.RequestTooLarge, an
//     event that is not JSON InvalidParameterValue.Param, an unknown function
//     ResourceNotFound.Function.
//   - Invoke's default qualifier is $LATEST and InvokeFunction's $DEFAULT,
//     as documented; an Event (async) Invoke returns only FunctionRequestId.
//   - ListTriggers describes a Function URL (Type "http") with TriggerDesc
//     the JSON of internal/tencentcloud.FunctionURLTrigger, its URLs those
//     the front door serves it at; a timer with {"cron":"<7 fields>"}, its
//     argument in CustomArgument; an API Gateway trigger with
//     {"service":{"subDomain":"<front door URL>"}}. Filters take Qualifier,
//     TriggerName and Description (exact values), as the SDK documents;
//     every trigger of a deploy has the same AddTime and ModTime, so the
//     order falls back to the trigger name.
//   - GetFunction reports InstanceConcurrencyConfig (Request-Based,
//     DynamicEnabled FALSE, MaxConcurrency) for a multi-concurrent web
//     function and leaves it out otherwise.
package scfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/runtime"
)

// Service and Version identify the SCF API.
const (
	Service = "scf"
	Version = "2018-04-16"
)

// Host is what the SCF actions need from the runtime host.
type Host interface {
	Invoke(ctx context.Context, inv runtime.Invocation) (*runtime.Result, error)
	Function(namespace, name, qualifier string) (runtime.VersionInfo, error)
	Functions(namespace string) []runtime.VersionInfo
	Versions(namespace, name string) ([]runtime.VersionInfo, error)
	PublishVersion(namespace, name, description string) (runtime.VersionInfo, error)
	CreateFunction(spec runtime.FunctionSpec) error
	UpdateFunction(namespace, name string, change func(*runtime.FunctionSpec) error) (runtime.VersionInfo, error)
	DeleteFunction(namespace, name, qualifier string) error
	CreateAlias(namespace, function string, a runtime.Alias) error
	UpdateAlias(namespace, function string, a runtime.Alias) error
	GetAlias(namespace, function, name string) (runtime.Alias, error)
	Aliases(namespace, function, version string) ([]runtime.Alias, error)
	DeleteAlias(namespace, function, name string) error
	SetProvisioned(namespace, name, qualifier string, cfg runtime.ProvisionedConfig) error
	Provisioned(namespace, name, qualifier string) ([]runtime.ProvisionedStatus, int, error)
	DeleteProvisioned(namespace, name, qualifier string) error
}

var _ Host = (*runtime.Host)(nil)

// Trigger is one trigger of a function, as ListTriggers reports it.
type Trigger struct {
	Name           string
	Type           string // "timer", "http" (Function URL) or "apigw"
	Qualifier      string // the version or alias it invokes
	Desc           string // TriggerDesc
	Enabled        bool
	CustomArgument string
	Description    string
	Added          time.Time
}

// Options configures the SCF actions.
type Options struct {
	// Triggers keeps and runs triggers; nil means no function has any and
	// CreateTrigger is refused.
	Triggers TriggerStore
	// CodeDir is where uploaded code packages are unpacked, one folder
	// each; "" refuses code uploads.
	CodeDir string
}

// Register adds the SCF actions to s.
func Register(s *cloudapi.Server, h Host, opts Options) {
	a := &actions{host: h, triggers: opts.Triggers, code: &codeStore{root: opts.CodeDir}}
	for name, fn := range map[string]cloudapi.Handler{
		"CreateFunction":                     a.createFunction,
		"UpdateFunctionCode":                 a.updateFunctionCode,
		"UpdateFunctionConfiguration":        a.updateFunctionConfiguration,
		"DeleteFunction":                     a.deleteFunction,
		"CreateAlias":                        a.createAlias,
		"UpdateAlias":                        a.updateAlias,
		"GetAlias":                           a.getAlias,
		"ListAliases":                        a.listAliases,
		"DeleteAlias":                        a.deleteAlias,
		"CreateTrigger":                      a.createTrigger,
		"DeleteTrigger":                      a.deleteTrigger,
		"InvokeFunction":                     a.invokeFunction,
		"Invoke":                             a.invoke,
		"GetFunction":                        a.getFunction,
		"GetFunctionAddress":                 a.getFunctionAddress,
		"ListFunctions":                      a.listFunctions,
		"ListVersionByFunction":              a.listVersions,
		"PublishVersion":                     a.publishVersion,
		"ListTriggers":                       a.listTriggers,
		"PutProvisionedConcurrencyConfig":    a.putProvisioned,
		"GetProvisionedConcurrencyConfig":    a.getProvisioned,
		"DeleteProvisionedConcurrencyConfig": a.deleteProvisioned,
	} {
		s.Handle(Service, Version, name, fn)
	}
}

type actions struct {
	host     Host
	triggers TriggerStore
	code     *codeStore
}

const timeLayout = "2006-01-02 15:04:05"

func (a *actions) invokeFunction(ctx context.Context, req *cloudapi.Request) (any, error) {
	var p scf.InvokeFunctionRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	if err := checkLogType(p.LogType); err != nil {
		return nil, err
	}
	inv := runtime.Invocation{
		Namespace: str(p.Namespace, "default"),
		Function:  *p.FunctionName,
		Qualifier: str(p.Qualifier, runtime.DefaultAlias),
		Event:     []byte(str(p.Event, "{}")),
	}
	res, err := a.run(ctx, inv)
	if err != nil {
		return nil, err
	}
	return &scf.InvokeFunctionResponseParams{Result: res}, nil
}

func (a *actions) invoke(ctx context.Context, req *cloudapi.Request) (any, error) {
	var p scf.InvokeRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	if err := checkLogType(p.LogType); err != nil {
		return nil, err
	}
	async := false
	switch t := str(p.InvocationType, "RequestResponse"); t {
	case "RequestResponse":
	case "Event":
		async = true
	default:
		return nil, cloudapi.Errorf("InvalidParameterValue", "InvocationType must be RequestResponse or Event, got %q", t)
	}
	inv := runtime.Invocation{
		Namespace: str(p.Namespace, "default"),
		Function:  *p.FunctionName,
		Qualifier: str(p.Qualifier, runtime.LatestVersion),
		Event:     []byte(str(p.ClientContext, "{}")),
		Async:     async,
	}
	res, err := a.run(ctx, inv)
	if err != nil {
		return nil, err
	}
	return &scf.InvokeResponseParams{Result: res}, nil
}

// run invokes and turns the outcome into the API's Result.
func (a *actions) run(ctx context.Context, inv runtime.Invocation) (*scf.Result, error) {
	inv.RequestID = runtime.NewRequestID()
	res, err := a.host.Invoke(ctx, inv)
	var se *runtime.Error
	switch {
	case errors.As(err, &se) && se.Status == runtime.StatusConcurrencyLimit:
		return failedResult(inv.RequestID, se, 0), nil
	case err != nil:
		return nil, invokeError(err)
	}
	if inv.Async {
		return &scf.Result{FunctionRequestId: &res.RequestID}, nil
	}
	ms := float64(res.Duration.Microseconds()) / 1000
	bill := int64(res.Duration / time.Millisecond)
	if res.Duration%time.Millisecond != 0 || bill == 0 {
		bill++
	}
	if res.FunctionError != nil {
		out := failedResult(res.RequestID, res.FunctionError, res.MemUsageBytes)
		out.Duration, out.BillDuration = &ms, &bill
		return out, nil
	}
	ok := int64(0)
	log := ""
	return &scf.Result{
		Log: &log, RetMsg: ptr(string(res.Payload)), ErrMsg: ptr(""), MemUsage: &res.MemUsageBytes,
		Duration: &ms, BillDuration: &bill, FunctionRequestId: &res.RequestID, InvokeResult: &ok,
	}, nil
}

// FunctionErrorBody is the JSON in Result.ErrMsg when an invocation failed.
type FunctionErrorBody struct {
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	RequestID    string `json:"requestId"`
	StatusCode   int    `json:"statusCode"`
}

func failedResult(requestID string, e *runtime.Error, mem int64) *scf.Result {
	body, _ := json.Marshal(FunctionErrorBody{ErrorCode: e.Status, ErrorMessage: e.Message, RequestID: requestID, StatusCode: e.Status})
	failed := int64(-1)
	zero := float64(0)
	var bill int64
	log := ""
	return &scf.Result{
		Log: &log, RetMsg: ptr(""), ErrMsg: ptr(string(body)), MemUsage: &mem, Duration: &zero,
		BillDuration: &bill, FunctionRequestId: &requestID, InvokeResult: &failed,
	}
}

// invokeError maps a refusal before execution to the API error SCF uses.
func invokeError(err error) error {
	var se *runtime.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Status {
	case runtime.StatusRequestTooLarge:
		return cloudapi.Errorf("InvalidParameter.RequestTooLarge", "%s", se.Message)
	case runtime.StatusInvalidParameter:
		if se.Code == "InvalidParameterValue.FunctionType" {
			return cloudapi.Errorf(se.Code, "%s", se.Message)
		}
		return cloudapi.Errorf("InvalidParameterValue.Param", "%s", se.Message)
	}
	return hostError(err)
}

// hostError turns a runtime error into an API error: the runtime's
// management errors already carry Tencent's code.
func hostError(err error) error {
	var se *runtime.Error
	if errors.As(err, &se) {
		code := se.Code
		if se.Status == runtime.StatusContainerExited {
			code = "FailedOperation.InvokeFunction"
		}
		return cloudapi.Errorf(code, "%s", se.Message)
	}
	return err
}

func checkLogType(lt *string) error {
	if lt != nil && *lt != "None" && *lt != "Tail" {
		return cloudapi.Errorf("InvalidParameterValue", "LogType must be None or Tail, got %q", *lt)
	}
	return nil
}

func (a *actions) getFunction(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.GetFunctionRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	namespace := str(p.Namespace, "default")
	info, err := a.host.Function(namespace, *p.FunctionName, str(p.Qualifier, runtime.LatestVersion))
	if err != nil {
		return nil, hostError(err)
	}
	out := functionDetail(info)
	out.Triggers = []*scf.Trigger{}
	if a.triggers != nil {
		for _, t := range a.triggers.Triggers(namespace, *p.FunctionName) {
			out.Triggers = append(out.Triggers, triggerOut(t))
		}
	}
	return out, nil
}

// getFunctionAddress answers where a version's code package is and its
// SHA-256. SCF answers with a COS download URL; localcloud, which keeps
// the unpacked folder, answers with a file:// URL of it. A version
// started from a folder (serverless.yml) has no package: CodeSha256 "".
func (a *actions) getFunctionAddress(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.GetFunctionAddressRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	info, err := a.host.Function(str(p.Namespace, "default"), *p.FunctionName, str(p.Qualifier, runtime.LatestVersion))
	if err != nil {
		return nil, hostError(err)
	}
	return &scf.GetFunctionAddressResponseParams{Url: ptr("file://" + info.Spec.CodeDir), CodeSha256: ptr(info.Spec.CodeSha256)}, nil
}

func functionDetail(info runtime.VersionInfo) *scf.GetFunctionResponseParams {
	s := info.Spec
	vars := make([]*scf.Variable, 0, len(s.Environment))
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		vars = append(vars, &scf.Variable{Key: ptr(k), Value: ptr(s.Environment[k])})
	}
	out := &scf.GetFunctionResponseParams{
		FunctionName:    ptr(s.Name),
		Namespace:       ptr(s.Namespace),
		FunctionVersion: ptr(info.Version),
		Qualifier:       ptr(info.Version),
		Description:     ptr(info.Description),
		Handler:         ptr(s.Handler),
		Runtime:         ptr(s.Runtime),
		MemorySize:      ptr(int64(s.MemoryMB)),
		Timeout:         ptr(int64(s.Timeout / time.Second)),
		InitTimeout:     ptr(int64(s.InitTimeout / time.Second)),
		Type:            ptr(string(s.Type)),
		Status:          ptr("Active"),
		StatusDesc:      ptr(""),
		AvailableStatus: ptr("Available"),
		ModTime:         ptr(info.Modified.UTC().Format(timeLayout)),
		AddTime:         ptr(info.Added.UTC().Format(timeLayout)),
		Environment:     &scf.Environment{Variables: vars},
		UseGpu:          ptr("FALSE"),
		FunctionId:      ptr("lf-" + s.Namespace + "-" + s.Name),
		Role:            ptr(s.Role),
		CodeSize:        ptr(s.CodeSize),
	}
	if s.Type == runtime.WebFunction && (s.MaxConcurrency > 1 || s.ConcurrencyType != "") {
		typ, dyn := s.ConcurrencyType, "FALSE"
		if typ == "" {
			typ = "Request-Based"
		}
		if s.DynamicConcurrency {
			dyn = "TRUE"
		}
		out.InstanceConcurrencyConfig = &scf.InstanceConcurrencyConfig{
			Type: ptr(typ), DynamicEnabled: ptr(dyn), MaxConcurrency: ptr(uint64(s.MaxConcurrency)),
		}
	}
	return out
}

func (a *actions) listFunctions(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.ListFunctionsRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	offset, limit, err := page(p.Offset, p.Limit)
	if err != nil {
		return nil, err
	}
	all := a.host.Functions(str(p.Namespace, "default"))
	out := []*scf.Function{}
	for i, info := range all {
		if i < offset || len(out) >= limit {
			continue
		}
		s := info.Spec
		out = append(out, &scf.Function{
			FunctionName: ptr(s.Name), Namespace: ptr(s.Namespace), Runtime: ptr(s.Runtime),
			Status: ptr("Active"), StatusDesc: ptr(""), Description: ptr(info.Description),
			Type: ptr(string(s.Type)), FunctionId: ptr("lf-" + s.Namespace + "-" + s.Name),
			AddTime: ptr(info.Added.UTC().Format(timeLayout)), ModTime: ptr(info.Modified.UTC().Format(timeLayout)),
		})
	}
	return &scf.ListFunctionsResponseParams{Functions: out, TotalCount: ptr(int64(len(all)))}, nil
}

func page(offset, limit *int64) (int, int, error) {
	o, l := int64(0), int64(20)
	if offset != nil {
		o = *offset
	}
	if limit != nil {
		l = *limit
	}
	if o < 0 {
		return 0, 0, cloudapi.Errorf("InvalidParameterValue.Offset", "Offset must not be negative, got %d", o)
	}
	if l < 0 || l > 100 {
		return 0, 0, cloudapi.Errorf("InvalidParameterValue.Limit", "Limit must be in 0-100, got %d", l)
	}
	return int(o), int(l), nil
}

// asInt64 converts an SDK paging parameter (unsigned) for page; values
// beyond int64 are clamped, which page treats like any large value.
func asInt64(v *uint64) *int64 {
	if v == nil {
		return nil
	}
	return ptr(int64(min(*v, 1<<62)))
}

func (a *actions) listVersions(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.ListVersionByFunctionRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	offset, limit, err := page(asInt64(p.Offset), asInt64(p.Limit))
	if err != nil {
		return nil, err
	}
	versions, err := a.host.Versions(str(p.Namespace, "default"), *p.FunctionName)
	if err != nil {
		return nil, hostError(err)
	}
	if order := str(p.Order, "ASC"); order == "DESC" {
		for i, j := 0, len(versions)-1; i < j; i, j = i+1, j-1 {
			versions[i], versions[j] = versions[j], versions[i]
		}
	} else if order != "ASC" {
		return nil, cloudapi.Errorf("InvalidParameterValue.Order", "Order must be ASC or DESC, got %q", order)
	}
	resp := &scf.ListVersionByFunctionResponseParams{FunctionVersion: []*string{}, Versions: []*scf.FunctionVersion{}, TotalCount: ptr(uint64(len(versions)))}
	for i, v := range versions {
		if i < offset || len(resp.Versions) >= limit {
			continue
		}
		resp.FunctionVersion = append(resp.FunctionVersion, ptr(v.Version))
		resp.Versions = append(resp.Versions, &scf.FunctionVersion{
			Version: ptr(v.Version), Description: ptr(v.Description), Status: ptr("Active"),
			AddTime: ptr(v.Added.UTC().Format(timeLayout)), ModTime: ptr(v.Modified.UTC().Format(timeLayout)),
		})
	}
	return resp, nil
}

func (a *actions) listTriggers(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.ListTriggersRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	offset, limit, err := page(asInt64(p.Offset), asInt64(p.Limit))
	if err != nil {
		return nil, err
	}
	switch ob := str(p.OrderBy, "mod_time"); ob {
	case "add_time", "mod_time":
	default:
		return nil, cloudapi.Errorf("InvalidParameterValue.OrderBy", "OrderBy must be add_time or mod_time, got %q", ob)
	}
	order := str(p.Order, "DESC")
	if order != "ASC" && order != "DESC" {
		return nil, cloudapi.Errorf("InvalidParameterValue.Order", "Order must be ASC or DESC, got %q", order)
	}
	keep, err := triggerFilter(p.Filters)
	if err != nil {
		return nil, err
	}
	namespace := str(p.Namespace, "default")
	if _, err := a.host.Function(namespace, *p.FunctionName, runtime.LatestVersion); err != nil {
		return nil, hostError(err)
	}
	var all []Trigger
	if a.triggers != nil {
		all = slices.Clone(a.triggers.Triggers(namespace, *p.FunctionName))
	}
	all = slices.DeleteFunc(all, func(t Trigger) bool { return !keep(t) })
	// Every trigger of a deploy has the same times: order by time, then
	// by name, both in the requested direction.
	slices.SortStableFunc(all, func(x, y Trigger) int {
		c := x.Added.Compare(y.Added)
		if c == 0 {
			c = strings.Compare(x.Name, y.Name)
		}
		if order == "DESC" {
			c = -c
		}
		return c
	})
	resp := &scf.ListTriggersResponseParams{TotalCount: ptr(uint64(len(all))), Triggers: []*scf.TriggerInfo{}}
	for i, t := range all {
		if i < offset || len(resp.Triggers) >= limit {
			continue
		}
		enable := uint64(0)
		if t.Enabled {
			enable = 1
		}
		at := t.Added.UTC().Format(timeLayout)
		resp.Triggers = append(resp.Triggers, &scf.TriggerInfo{
			Enable: &enable, Qualifier: ptr(t.Qualifier), TriggerName: ptr(t.Name), Type: ptr(t.Type),
			TriggerDesc: ptr(t.Desc), AvailableStatus: ptr("Available"), CustomArgument: ptr(t.CustomArgument),
			AddTime: ptr(at), ModTime: ptr(at), Description: ptr(t.Description),
		})
	}
	return resp, nil
}

// triggerFilter turns ListTriggers' Filters into a predicate: every
// filter must match, a filter matching any of its values.
func triggerFilter(filters []*scf.Filter) (func(Trigger) bool, error) {
	type cond struct {
		field  func(Trigger) string
		values []string
	}
	var conds []cond
	for i, f := range filters {
		if f == nil || f.Name == nil {
			return nil, cloudapi.Errorf("InvalidParameterValue.Filters", "Filters.%d needs a Name", i)
		}
		var field func(Trigger) string
		switch *f.Name {
		case "Qualifier":
			field = func(t Trigger) string { return t.Qualifier }
		case "TriggerName":
			field = func(t Trigger) string { return t.Name }
		case "Description":
			field = func(t Trigger) string { return t.Description }
		default:
			return nil, cloudapi.Errorf("InvalidParameterValue.Filters", "Filters.%d.Name %q is not supported; allowed: Qualifier, TriggerName, Description", i, *f.Name)
		}
		var values []string
		for _, v := range f.Values {
			if v != nil {
				values = append(values, *v)
			}
		}
		if len(values) == 0 {
			return nil, cloudapi.Errorf("InvalidParameterValue.Filters", "Filters.%d (%s) has no Values", i, *f.Name)
		}
		conds = append(conds, cond{field, values})
	}
	return func(t Trigger) bool {
		for _, c := range conds {
			if !slices.Contains(c.values, c.field(t)) {
				return false
			}
		}
		return true
	}, nil
}

func (a *actions) publishVersion(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.PublishVersionRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	v, err := a.host.PublishVersion(str(p.Namespace, "default"), *p.FunctionName, str(p.Description, ""))
	if err != nil {
		return nil, hostError(err)
	}
	s := v.Spec
	return &scf.PublishVersionResponseParams{
		FunctionVersion: ptr(v.Version), CodeSize: ptr(s.CodeSize), MemorySize: ptr(int64(s.MemoryMB)),
		Description: ptr(v.Description), Handler: ptr(s.Handler), Timeout: ptr(int64(s.Timeout / time.Second)),
		Runtime: ptr(s.Runtime), Namespace: ptr(s.Namespace),
	}, nil
}

func (a *actions) putProvisioned(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.PutProvisionedConcurrencyConfigRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := requiredAll(param{"FunctionName", p.FunctionName}, param{"Qualifier", p.Qualifier},
		param{"VersionProvisionedConcurrencyNum", p.VersionProvisionedConcurrencyNum}); err != nil {
		return nil, err
	}
	cfg := runtime.ProvisionedConfig{
		Num:            int(*p.VersionProvisionedConcurrencyNum),
		Type:           str(p.ProvisionedType, runtime.ProvisionedDefault),
		TrackingTarget: tencentcloud.Value(p.TrackingTarget),
		MinCapacity:    int(tencentcloud.Value(p.MinCapacity)),
		MaxCapacity:    int(tencentcloud.Value(p.MaxCapacity)),
	}
	for i, ta := range p.TriggerActions {
		if ta == nil || ta.TriggerName == nil || ta.TriggerCronConfig == nil || ta.TriggerProvisionedConcurrencyNum == nil {
			return nil, cloudapi.Errorf("MissingParameter", "TriggerActions.%d needs TriggerName, TriggerCronConfig and TriggerProvisionedConcurrencyNum", i)
		}
		cfg.TriggerActions = append(cfg.TriggerActions, runtime.TriggerAction{
			Name: *ta.TriggerName, Num: int(*ta.TriggerProvisionedConcurrencyNum),
			Cron: *ta.TriggerCronConfig, ProvisionedType: str(ta.ProvisionedType, runtime.ProvisionedDefault),
		})
	}
	if err := a.host.SetProvisioned(str(p.Namespace, "default"), *p.FunctionName, *p.Qualifier, cfg); err != nil {
		return nil, hostError(err)
	}
	return &scf.PutProvisionedConcurrencyConfigResponseParams{}, nil
}

func (a *actions) getProvisioned(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.GetProvisionedConcurrencyConfigRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	statuses, unallocated, err := a.host.Provisioned(str(p.Namespace, "default"), *p.FunctionName, str(p.Qualifier, ""))
	if err != nil {
		return nil, hostError(err)
	}
	resp := &provisionedResponse{
		UnallocatedConcurrencyNum: ptr(uint64(unallocated)),
		Allocated:                 []*provisionedInfo{},
	}
	for _, st := range statuses {
		info := &provisionedInfo{VersionProvisionedConcurrencyInfo: scf.VersionProvisionedConcurrencyInfo{
			Qualifier:                          ptr(st.Qualifier),
			AllocatedProvisionedConcurrencyNum: ptr(uint64(st.Allocated)),
			AvailableProvisionedConcurrencyNum: ptr(uint64(st.Available)),
			Status:                             ptr(st.Status),
			StatusReason:                       ptr(st.StatusReason),
			TriggerActions:                     []*scf.TriggerAction{},
		}}
		if st.Config.Type == runtime.ProvisionedTracking {
			info.ProvisionedType = ptr(st.Config.Type)
			info.TrackingTarget = ptr(st.Config.TrackingTarget)
			info.MinCapacity = ptr(uint64(st.Config.MinCapacity))
			info.MaxCapacity = ptr(uint64(st.Config.MaxCapacity))
		}
		for _, ta := range st.Config.TriggerActions {
			info.TriggerActions = append(info.TriggerActions, &scf.TriggerAction{
				TriggerName: ptr(ta.Name), TriggerProvisionedConcurrencyNum: ptr(uint64(ta.Num)),
				TriggerCronConfig: ptr(ta.Cron), ProvisionedType: ptr(ta.ProvisionedType),
			})
		}
		resp.Allocated = append(resp.Allocated, info)
	}
	return resp, nil
}

func (a *actions) deleteProvisioned(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.DeleteProvisionedConcurrencyConfigRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := requiredAll(param{"FunctionName", p.FunctionName}, param{"Qualifier", p.Qualifier}); err != nil {
		return nil, err
	}
	if err := a.host.DeleteProvisioned(str(p.Namespace, "default"), *p.FunctionName, *p.Qualifier); err != nil {
		return nil, hostError(err)
	}
	return &scf.DeleteProvisionedConcurrencyConfigResponseParams{}, nil
}

// provisionedResponse is GetProvisionedConcurrencyConfig's answer. Each
// version also carries its utilisation-tracking settings, which SCF's
// console shows but SDK v1.3.101's VersionProvisionedConcurrencyInfo has
// no fields for: the SDK ignores them, raw API clients can read them.
type provisionedResponse struct {
	UnallocatedConcurrencyNum *uint64            `json:"UnallocatedConcurrencyNum"`
	Allocated                 []*provisionedInfo `json:"Allocated"`
}

type provisionedInfo struct {
	scf.VersionProvisionedConcurrencyInfo
	ProvisionedType *string  `json:"ProvisionedType,omitempty"`
	TrackingTarget  *float64 `json:"TrackingTarget,omitempty"`
	MinCapacity     *uint64  `json:"MinCapacity,omitempty"`
	MaxCapacity     *uint64  `json:"MaxCapacity,omitempty"`
}

// required reports MissingParameter when a required pointer parameter is
// absent or an empty string.
func required(name string, v any) error {
	switch p := v.(type) {
	case *string:
		if p == nil || *p == "" {
			return cloudapi.MissingParameter(name)
		}
	case *uint64:
		if p == nil {
			return cloudapi.MissingParameter(name)
		}
	default:
		panic(fmt.Sprintf("scfapi: required(%s): unsupported type %T", name, v))
	}
	return nil
}

type param struct {
	name  string
	value any
}

// requiredAll checks parameters in order, so the first missing one is named.
func requiredAll(params ...param) error {
	for _, p := range params {
		if err := required(p.name, p.value); err != nil {
			return err
		}
	}
	return nil
}

func str(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
