package scfapi

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/cron"
	"github.com/scfgate/scfgate/localcloud/runtime"
)

// Trigger types localcloud runs.
const (
	TriggerTimer = "timer"
	TriggerHTTP  = tencentcloud.FunctionURLTriggerType // Function URL
	TriggerAPIGW = "apigw"                             // from serverless.yml only
)

// TriggerSpec is a validated trigger to add to a function.
type TriggerSpec struct {
	Name, Type, Qualifier, Description string
	Enabled                            bool
	// Timer: the 7-field cron and the argument (the event's Message).
	Cron, Argument string
	// Function URL: authentication and networks.
	AuthType                       string
	EnableExtranet, EnableIntranet bool
}

// TriggerStore keeps the triggers of every function and runs them: the
// front door serves Function URLs, the timers fire. localcloud implements
// it.
type TriggerStore interface {
	Triggers(namespace, function string) []Trigger
	// AddTrigger adds and starts a trigger: ResourceInUse.Trigger if the
	// function has one of that type and name.
	AddTrigger(namespace, function string, t TriggerSpec) (Trigger, error)
	// RemoveTrigger stops and removes a trigger: ResourceNotFound.Trigger
	// if none matches type, name and qualifier.
	RemoveTrigger(namespace, function, typ, name, qualifier string) error
	// RemoveFunction drops every trigger of a deleted function.
	RemoveFunction(namespace, function string)
}

// timerName is CreateTrigger's rule for timer names.
var timerName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

const maxCustomArgument = 4 << 10

func (a *actions) createTrigger(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.CreateTriggerRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := requiredAll(param{"FunctionName", p.FunctionName}, param{"TriggerName", p.TriggerName}, param{"Type", p.Type}); err != nil {
		return nil, err
	}
	if a.triggers == nil {
		return nil, cloudapi.Errorf("UnsupportedOperation.Trigger", "this endpoint runs no triggers")
	}
	namespace := str(p.Namespace, "default")
	t := TriggerSpec{Name: *p.TriggerName, Type: *p.Type, Qualifier: str(p.Qualifier, runtime.LatestVersion), Description: str(p.Description, "")}
	fn, err := a.host.Function(namespace, *p.FunctionName, runtime.LatestVersion)
	if err != nil {
		return nil, hostError(err)
	}
	if _, err := a.host.Function(namespace, *p.FunctionName, t.Qualifier); err != nil {
		return nil, hostError(err)
	}
	switch e := str(p.Enable, "OPEN"); e {
	case "OPEN":
		t.Enabled = true
	case "CLOSE":
	default:
		return nil, cloudapi.Errorf("InvalidParameterValue.Enable", "Enable must be OPEN or CLOSE, got %q", e)
	}
	desc := str(p.TriggerDesc, "")
	switch t.Type {
	case TriggerTimer:
		if fn.Spec.Type == runtime.WebFunction {
			return nil, cloudapi.Errorf("UnsupportedOperation.Trigger", "web functions take Function URL (http) triggers only, not timers")
		}
		if !timerName.MatchString(t.Name) {
			return nil, cloudapi.Errorf("InvalidParameterValue.TriggerName", "timer name %q: 1-100 letters, digits, '-' and '_'", t.Name)
		}
		if t.Cron, err = timerCron(desc); err != nil {
			return nil, err
		}
		t.Argument = str(p.CustomArgument, "")
		if len(t.Argument) > maxCustomArgument {
			return nil, cloudapi.Errorf("InvalidParameterValue.CustomArgument", "CustomArgument is %d bytes, over %d", len(t.Argument), maxCustomArgument)
		}
	case TriggerHTTP:
		u, err := tencentcloud.ParseFunctionURLTrigger(desc)
		if err != nil {
			return nil, cloudapi.Errorf("InvalidParameterValue.TriggerDesc", `TriggerDesc of a Function URL must be JSON {"AuthType":"NONE"|"CAM","NetConfig":{"EnableIntranet":bool,"EnableExtranet":bool}}`)
		}
		if u.AuthType != tencentcloud.AuthTypeNone && u.AuthType != tencentcloud.AuthTypeCAM {
			return nil, cloudapi.Errorf("InvalidParameterValue.TriggerDesc", "AuthType must be NONE or CAM, got %q", u.AuthType)
		}
		t.AuthType, t.EnableExtranet, t.EnableIntranet = u.AuthType, u.NetConfig.EnableExtranet, u.NetConfig.EnableIntranet
	default:
		return nil, cloudapi.Errorf("InvalidParameterValue.Type", "trigger Type %q is not run by localcloud; use timer or http", t.Type)
	}
	added, err := a.triggers.AddTrigger(namespace, *p.FunctionName, t)
	if err != nil {
		return nil, err
	}
	return &scf.CreateTriggerResponseParams{TriggerInfo: triggerOut(added)}, nil
}

// timerCron reads a timer's TriggerDesc: the cron expression itself, as
// CreateTrigger takes it, or {"cron":"..."}, as ListTriggers reports it.
func timerCron(desc string) (string, error) {
	expr := strings.TrimSpace(desc)
	if strings.HasPrefix(expr, "{") {
		var d struct {
			Cron string `json:"cron"`
		}
		if err := json.Unmarshal([]byte(expr), &d); err != nil {
			return "", cloudapi.Errorf("InvalidParameterValue.TriggerDesc", "timer TriggerDesc: %v", err)
		}
		expr = d.Cron
	}
	if _, err := cron.Parse(expr); err != nil {
		return "", cloudapi.Errorf("InvalidParameterValue.TriggerDesc", "timer TriggerDesc %q: %v", expr, err)
	}
	return expr, nil
}

func (a *actions) deleteTrigger(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.DeleteTriggerRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := requiredAll(param{"FunctionName", p.FunctionName}, param{"TriggerName", p.TriggerName}, param{"Type", p.Type}); err != nil {
		return nil, err
	}
	namespace := str(p.Namespace, "default")
	if _, err := a.host.Function(namespace, *p.FunctionName, runtime.LatestVersion); err != nil {
		return nil, hostError(err)
	}
	if a.triggers == nil {
		return nil, cloudapi.Errorf("ResourceNotFound.Trigger", "trigger %s not found", *p.TriggerName)
	}
	if err := a.triggers.RemoveTrigger(namespace, *p.FunctionName, *p.Type, *p.TriggerName, str(p.Qualifier, runtime.LatestVersion)); err != nil {
		return nil, err
	}
	return &scf.DeleteTriggerResponseParams{}, nil
}

func triggerOut(t Trigger) *scf.Trigger {
	enable := int64(0)
	if t.Enabled {
		enable = 1
	}
	at := t.Added.UTC().Format(timeLayout)
	return &scf.Trigger{
		Type: ptr(t.Type), TriggerName: ptr(t.Name), TriggerDesc: ptr(t.Desc), Qualifier: ptr(t.Qualifier),
		Enable: &enable, CustomArgument: ptr(t.CustomArgument), AvailableStatus: ptr("Available"),
		AddTime: ptr(at), ModTime: ptr(at), Description: ptr(t.Description),
	}
}
