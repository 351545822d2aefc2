package scfapi

import (
	"context"
	"regexp"
	"strings"
	"time"

	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/runtime"
)

// functionName is CreateFunction's rule: 2-60 letters, digits, '-' and
// '_', starting with a letter, not ending with '-' or '_'.
var functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$`)

// Limits of CreateFunction / UpdateFunctionConfiguration (SDK models.go
// comments; 583/11637).
const (
	maxDescription = 1000
	maxEnvBytes    = 4 << 10
)

// runtimeGo1 is the one runtime localcloud runs: the handler is an
// executable in the code package (scf-go-lib), or scf_bootstrap for web
// functions.
const runtimeGo1 = "Go1"

func (a *actions) createFunction(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.CreateFunctionRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	if !functionName.MatchString(*p.FunctionName) {
		return nil, cloudapi.Errorf("InvalidParameterValue.FunctionName", "FunctionName %q: 2-60 letters, digits, '-' and '_', starting with a letter and not ending with '-' or '_'", *p.FunctionName)
	}
	spec := runtime.FunctionSpec{
		Namespace: str(p.Namespace, "default"), Name: *p.FunctionName,
		Type:    runtime.FunctionType(str(p.Type, string(runtime.EventFunction))),
		Runtime: str(p.Runtime, "Python2.7"), Handler: str(p.Handler, ""),
		MemoryMB: 128, Timeout: 3 * time.Second, InitTimeout: 65 * time.Second,
	}
	if spec.Type != runtime.EventFunction && spec.Type != runtime.WebFunction {
		return nil, cloudapi.Errorf("InvalidParameterValue.Type", "Type must be Event or HTTP, got %q", spec.Type)
	}
	if spec.Runtime != runtimeGo1 {
		return nil, cloudapi.Errorf("InvalidParameterValue.Runtime", "Runtime %q: localcloud runs %s functions only (SCF's default is Python2.7)", spec.Runtime, runtimeGo1)
	}
	if err := configure(&spec, configFields{
		Description: p.Description, MemorySize: p.MemorySize, Timeout: p.Timeout, InitTimeout: p.InitTimeout,
		Environment: p.Environment, Role: p.Role, Concurrency: p.InstanceConcurrencyConfig,
	}); err != nil {
		return nil, err
	}
	zip, err := zipFile(p.Code, nil)
	if err != nil {
		return nil, err
	}
	if zip == "" {
		return nil, cloudapi.MissingParameter("Code.ZipFile")
	}
	if spec.CodeDir, spec.CodeSize, spec.CodeSha256, err = a.code.unpack(spec.Name, zip); err != nil {
		return nil, err
	}
	if err := a.host.CreateFunction(spec); err != nil {
		return nil, hostError(err)
	}
	return &scf.CreateFunctionResponseParams{}, nil
}

func (a *actions) updateFunctionCode(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.UpdateFunctionCodeRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	if p.CosBucketName != nil || p.CosObjectName != nil {
		return nil, cloudapi.Errorf("InvalidParameterValue.Code", "localcloud takes code as ZipFile (base64), not from COS")
	}
	zip, err := zipFile(p.Code, p.ZipFile)
	if err != nil {
		return nil, err
	}
	if zip == "" {
		return nil, cloudapi.MissingParameter("ZipFile")
	}
	namespace := str(p.Namespace, "default")
	if _, err := a.host.Function(namespace, *p.FunctionName, runtime.LatestVersion); err != nil {
		return nil, hostError(err)
	}
	dir, size, sha, err := a.code.unpack(*p.FunctionName, zip)
	if err != nil {
		return nil, err
	}
	_, err = a.host.UpdateFunction(namespace, *p.FunctionName, func(s *runtime.FunctionSpec) error {
		s.CodeDir, s.CodeSize, s.CodeSha256 = dir, size, sha
		if p.Handler != nil && *p.Handler != "" {
			s.Handler = *p.Handler
		}
		return nil
	})
	if err != nil {
		return nil, hostError(err)
	}
	if err := a.publishIf(p.Publish, namespace, *p.FunctionName); err != nil {
		return nil, err
	}
	return &scf.UpdateFunctionCodeResponseParams{}, nil
}

func (a *actions) updateFunctionConfiguration(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.UpdateFunctionConfigurationRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	namespace := str(p.Namespace, "default")
	_, err := a.host.UpdateFunction(namespace, *p.FunctionName, func(s *runtime.FunctionSpec) error {
		if p.Runtime != nil && *p.Runtime != "" && *p.Runtime != s.Runtime {
			return cloudapi.Errorf("InvalidParameterValue.Runtime", "Runtime is set at creation and cannot change (%s to %s)", s.Runtime, *p.Runtime)
		}
		return configure(s, configFields{
			Description: p.Description, MemorySize: p.MemorySize, Timeout: p.Timeout, InitTimeout: p.InitTimeout,
			Environment: p.Environment, Role: p.Role, Concurrency: p.InstanceConcurrencyConfig,
		})
	})
	if err != nil {
		return nil, hostError(err)
	}
	if err := a.publishIf(p.Publish, namespace, *p.FunctionName); err != nil {
		return nil, err
	}
	return &scf.UpdateFunctionConfigurationResponseParams{}, nil
}

// publishIf publishes a version when an update asks for it (Publish
// "TRUE").
func (a *actions) publishIf(publish *string, namespace, name string) error {
	switch str(publish, "FALSE") {
	case "FALSE":
		return nil
	case "TRUE":
		_, err := a.host.PublishVersion(namespace, name, "")
		return hostError(err)
	default:
		return cloudapi.Errorf("InvalidParameterValue.Publish", "Publish must be TRUE or FALSE, got %q", *publish)
	}
}

func (a *actions) deleteFunction(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.DeleteFunctionRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	namespace, qualifier := str(p.Namespace, "default"), str(p.Qualifier, "")
	if err := a.host.DeleteFunction(namespace, *p.FunctionName, qualifier); err != nil {
		return nil, hostError(err)
	}
	if qualifier == "" && a.triggers != nil {
		a.triggers.RemoveFunction(namespace, *p.FunctionName)
	}
	return &scf.DeleteFunctionResponseParams{}, nil
}

// zipFile returns the base64 zip of a request: Code.ZipFile, or the
// top-level ZipFile of UpdateFunctionCode. Other code sources (COS, demo,
// git, image) are refused: localcloud has none of them.
func zipFile(code *scf.Code, top *string) (string, error) {
	if top != nil && *top != "" {
		return *top, nil
	}
	if code == nil {
		return "", nil
	}
	if code.CosBucketName != nil || code.CosObjectName != nil || code.DemoId != nil || code.GitUrl != nil || code.ImageConfig != nil || code.TempCosObjectName != nil {
		return "", cloudapi.Errorf("InvalidParameterValue.Code", "localcloud takes code as Code.ZipFile (base64) only")
	}
	return str(code.ZipFile, ""), nil
}

// configFields are the settings CreateFunction and
// UpdateFunctionConfiguration share; nil leaves a setting as it is.
type configFields struct {
	Description         *string
	MemorySize, Timeout *int64
	InitTimeout         *int64
	Environment         *scf.Environment
	Role                *string
	Concurrency         *scf.InstanceConcurrencyConfig
}

// configure applies the given settings to spec with SCF's checks.
func configure(spec *runtime.FunctionSpec, c configFields) error {
	if c.Description != nil {
		if len([]rune(*c.Description)) > maxDescription {
			return cloudapi.Errorf("InvalidParameterValue.Description", "Description is over %d characters", maxDescription)
		}
		spec.Description = *c.Description
	}
	if c.MemorySize != nil {
		m := *c.MemorySize
		if m != 64 && (m < 128 || m > 3072 || m%128 != 0) {
			return cloudapi.Errorf("InvalidParameterValue.MemorySize", "MemorySize %d: 64, or 128 to 3072 in steps of 128", m)
		}
		spec.MemoryMB = int(m)
	}
	if c.Timeout != nil {
		if t := *c.Timeout; t < 1 || t > 900 {
			return cloudapi.Errorf("LimitExceeded.Timeout", "Timeout %d: 1 to 900 seconds", t)
		}
		spec.Timeout = time.Duration(*c.Timeout) * time.Second
	}
	if c.InitTimeout != nil {
		if t := *c.InitTimeout; t < 3 || t > 300 {
			return cloudapi.Errorf("InvalidParameterValue.InitTimeout", "InitTimeout %d: 3 to 300 seconds", t)
		}
		spec.InitTimeout = time.Duration(*c.InitTimeout) * time.Second
	}
	if c.Environment != nil {
		env, err := environment(c.Environment)
		if err != nil {
			return err
		}
		spec.Environment = env
	}
	if c.Role != nil {
		spec.Role = *c.Role
	}
	if c.Concurrency != nil {
		return concurrency(spec, c.Concurrency)
	}
	return nil
}

// environment reads Environment.Variables: keys unique and non-empty,
// 4 KB in all. The given list replaces the function's variables.
func environment(e *scf.Environment) (map[string]string, error) {
	env := map[string]string{}
	size := 0
	for i, v := range e.Variables {
		if v == nil || v.Key == nil || *v.Key == "" {
			return nil, cloudapi.Errorf("InvalidParameterValue.Environment", "Environment.Variables.%d needs a Key", i)
		}
		if _, dup := env[*v.Key]; dup {
			return nil, cloudapi.Errorf("InvalidParameterValue.Environment", "Environment.Variables: key %s is given twice", *v.Key)
		}
		env[*v.Key] = str(v.Value, "")
		size += len(*v.Key) + len(env[*v.Key])
	}
	if size > maxEnvBytes {
		return nil, cloudapi.Errorf("InvalidParameterValue.Environment", "environment variables total %d bytes, over SCF's %d", size, maxEnvBytes)
	}
	return env, nil
}

// concurrency applies InstanceConcurrencyConfig: web functions only,
// MaxConcurrency 1-100. DynamicEnabled is reported back as given; the
// host serves MaxConcurrency statically either way.
func concurrency(spec *runtime.FunctionSpec, c *scf.InstanceConcurrencyConfig) error {
	if spec.Type != runtime.WebFunction {
		return cloudapi.Errorf("InvalidParameterValue.InstanceConcurrencyConfig", "InstanceConcurrencyConfig is for web (HTTP) functions only")
	}
	typ := str(c.Type, "Request-Based")
	if typ != "Request-Based" && typ != "Session-Based" {
		return cloudapi.Errorf("InvalidParameterValue.InstanceConcurrencyConfig", "InstanceConcurrencyConfig.Type must be Request-Based or Session-Based, got %q", typ)
	}
	dyn := strings.ToUpper(str(c.DynamicEnabled, "FALSE"))
	if dyn != "TRUE" && dyn != "FALSE" {
		return cloudapi.Errorf("InvalidParameterValue.InstanceConcurrencyConfig", "DynamicEnabled must be TRUE or FALSE, got %q", *c.DynamicEnabled)
	}
	n := uint64(1)
	if c.MaxConcurrency != nil {
		n = *c.MaxConcurrency
	}
	if n < 1 || n > runtime.MaxInstanceConcurrency {
		return cloudapi.Errorf("InvalidParameterValue.MaxConcurrency", "MaxConcurrency %d: 1 to %d", n, runtime.MaxInstanceConcurrency)
	}
	spec.ConcurrencyType, spec.DynamicConcurrency, spec.MaxConcurrency = typ, dyn == "TRUE", int(n)
	return nil
}
