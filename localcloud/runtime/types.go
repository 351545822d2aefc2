package runtime

import (
	"fmt"
	"time"
)

// FunctionType is the SCF function type as the API names it.
type FunctionType string

const (
	// EventFunction is served over the scf-go-lib net/rpc protocol, one
	// event in and one JSON payload out.
	EventFunction FunctionType = "Event"
	// WebFunction is an HTTP server started by scf_bootstrap; requests are
	// proxied to it and responses (including SSE) streamed back.
	WebFunction FunctionType = "HTTP"
)

// Well-known qualifiers.
const (
	LatestVersion = "$LATEST"
	DefaultAlias  = "$DEFAULT"
)

// WebPortEnv is the variable that tells a web function's scf_bootstrap
// which port to listen on. SCF always uses 9000; locally every instance
// needs its own port, so the host sets PORT and web functions read it with
// 9000 as the default.
const WebPortEnv = "PORT"

// FunctionSpec is a function's configuration as deployed ($LATEST). A
// published version is an immutable copy of it.
type FunctionSpec struct {
	Namespace   string // "" means "default"
	Name        string
	Type        FunctionType // "" means EventFunction
	Runtime     string       // e.g. "Go1"
	Handler     string       // event functions: the executable's file name in CodeDir (SCF: "main")
	CodeDir     string       // the unpacked code; USER_CODE_ROOT and working directory of instances
	MemoryMB    int          // 0 means 128
	Timeout     time.Duration
	InitTimeout time.Duration // 0 means 65 s
	Environment map[string]string
	Region      string
	Description string
	// MaxConcurrency is how many requests one instance of a web function
	// serves at once: InstanceConcurrencyConfig.MaxConcurrency with
	// DynamicEnabled "FALSE" (static request multi-concurrency), 1..100.
	// 0 means 1, one request per instance, which is all event functions
	// allow.
	MaxConcurrency int
	// ConcurrencyType is InstanceConcurrencyConfig.Type as deployed
	// ("Request-Based", "Session-Based"); "" when the function was given
	// no InstanceConcurrencyConfig. DynamicConcurrency is its
	// DynamicEnabled. Both are reported back as set; the host always
	// serves static request multi-concurrency of MaxConcurrency.
	ConcurrencyType    string
	DynamicConcurrency bool
	// Role is the execution role (CAM role name); instances get the
	// host's role credentials whatever it is.
	Role string
	// CodeSize is the size in bytes of the code package it was deployed
	// from (0 for a folder); CodeSha256 its hex SHA-256 ("" for a folder).
	CodeSize   int64
	CodeSha256 string
}

// MaxInstanceConcurrency is SCF's upper bound of MaxConcurrency.
const MaxInstanceConcurrency = 100

// Invocation is one request to run a function.
type Invocation struct {
	Namespace string // "" means "default"
	Function  string
	Qualifier string // version or alias; "" means $LATEST
	Event     []byte // the event JSON
	Async     bool   // Event invocation type: the caller does not wait
	// RequestID identifies the invocation; the host generates one if empty.
	RequestID string
	// TriggerSrc is set as TRIGGER_SRC in the function's environment
	// ("timer" for timer triggers), empty for API calls.
	TriggerSrc string
}

// Result is the outcome of an invocation that ran. A platform refusal
// (throttled, too large, unknown function) is an *Error instead.
type Result struct {
	RequestID string
	Version   string // the version that served the invocation
	Payload   []byte // the handler's JSON result; empty when FunctionError is set
	// FunctionError is set when the handler returned an error, panicked,
	// timed out or its instance died. Status tells which (430, 433, 405).
	FunctionError *Error
	Duration      time.Duration
	MemUsageBytes int64
	ColdStart     bool
	InitDuration  time.Duration // set when ColdStart
}

// Error is an SCF function status (cloud.tencent.com/document/product/583/42611).
type Error struct {
	Status  int    // 406, 430, 432, 433, 435, ...
	Code    string // e.g. "ResourceLimitReached"
	Message string
	// Type is the Go error type the handler returned ("errorString"), for 430.
	Type string
}

func (e *Error) Error() string {
	return fmt.Sprintf("scf %d %s: %s", e.Status, e.Code, e.Message)
}

// SCF function statuses the host produces.
const (
	StatusInvalidParameter  = 400 // event is not JSON
	StatusContainerExited   = 405 // instance process exited or could not start
	StatusRequestTooLarge   = 406 // event over 6 MB (sync) or 128 KB (async)
	StatusResponseTooLarge  = 407
	StatusResourceLimit     = 429 // instance start rate exceeded
	StatusUserCodeException = 430
	StatusConcurrencyLimit  = 432
	StatusTimeLimit         = 433
	StatusMemoryLimit       = 434
	StatusFunctionNotFound  = 435
)

// ProvisionedConfig is what PutProvisionedConcurrencyConfig sets on a version.
type ProvisionedConfig struct {
	Num            int    // VersionProvisionedConcurrencyNum
	Type           string // "Default" (or "") or "ConcurrencyUtilizationTracking"
	TrackingTarget float64
	MinCapacity    int
	MaxCapacity    int
	TriggerActions []TriggerAction
}

// TriggerAction is a timed provisioned-concurrency change.
type TriggerAction struct {
	Name            string
	Num             int
	Cron            string // 7-field cron
	ProvisionedType string
}

// ProvisionedStatus is one version's provisioned concurrency as
// GetProvisionedConcurrencyConfig reports it.
type ProvisionedStatus struct {
	Qualifier    string
	Allocated    int    // configured
	Available    int    // instances started and ready
	Status       string // "Done", "InProgress", "Failed"
	StatusReason string
	Config       ProvisionedConfig
}

// VersionInfo describes a published version (or $LATEST).
type VersionInfo struct {
	Version     string
	Description string
	Added       time.Time
	Modified    time.Time
	Spec        FunctionSpec
}
