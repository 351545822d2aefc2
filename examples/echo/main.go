// Command echo is an example SCF event function (runtime Go1, scf-go-lib)
// whose behaviour is chosen by the event, so that tests can drive every
// outcome of an invocation: a returned value, a returned error, a panic,
// a timeout, an instance that exits mid-invocation and memory growth.
//
// Events:
//
//   - an API Gateway or Function URL request (an object with
//     "httpMethod") is answered with an integration response whose JSON
//     body echoes the method, path, query, headers, the parsed body and
//     the function context; a body {"action":...} also runs that action,
//     its value under "result", its error as the function's error. The
//     query parameter status=N sets the response status code;
//   - {"action":"echo","data":D} returns D with the function context;
//     "env":["NAME",...] adds those variables to the reported environment;
//   - {"action":"error","message":M} returns errors.New(M);
//   - {"action":"panic","message":M} panics with M;
//   - {"action":"sleep","ms":N} sleeps N ms, or returns ctx.Err() when the
//     invocation's deadline comes first;
//   - {"action":"spin","ms":N} sleeps N ms ignoring the deadline, like a
//     handler that never looks at its context;
//   - {"action":"exit","code":N} ends the process with os.Exit(N);
//   - {"action":"alloc","mb":N,"ms":H} allocates and touches N MB, holds
//     it H ms (0: not at all), reports the RSS, then returns the memory to
//     the OS;
//   - a timer event ({"Type":"Timer",...}) is logged as one JSON line and
//     returned as {"timer":<event>};
//   - anything else is returned as it came.
//
// ECHO_INIT_DELAY_MS makes the process sleep that long before it serves,
// to stand for initialisation work during a cold start. Logs are JSON
// lines (log/slog) on stdout.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/events"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if v := os.Getenv("ECHO_INIT_DELAY_MS"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			log.Error("ECHO_INIT_DELAY_MS must be a whole number of milliseconds", "value", v)
			os.Exit(2)
		}
		log.Info("init delay", "ms", ms)
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	h := &handler{log: log, exit: os.Exit}
	log.Info("serving", "pid", os.Getpid())
	cloudfunction.Start(h.handle)
}

// handler answers invocations; exit ends the process (os.Exit outside
// tests).
type handler struct {
	log  *slog.Logger
	exit func(code int)
}

// request is an action event; the fields an action does not use are
// ignored.
type request struct {
	Action  string          `json:"action"`
	Data    json.RawMessage `json:"data"`
	Env     []string        `json:"env"`
	Message string          `json:"message"`
	MS      int             `json:"ms"`
	Code    int             `json:"code"`
	MB      int             `json:"mb"`
}

// maxAllocMB bounds the alloc action.
const maxAllocMB = 64 << 10

// handle dispatches on the shape of the event: HTTP request, timer event,
// action, or anything else (echoed back).
func (h *handler) handle(ctx context.Context, event json.RawMessage) (any, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(event, &fields); err != nil || fields == nil {
		h.log.Info("invoke", "requestId", requestID(ctx), "kind", "raw")
		return event, nil
	}
	if _, ok := fields["httpMethod"]; ok {
		return h.httpEvent(ctx, event)
	}
	var typ string
	if t, ok := fields["Type"]; ok && json.Unmarshal(t, &typ) == nil && typ == "Timer" {
		h.log.Info("timer", "requestId", requestID(ctx), "event", event)
		return map[string]json.RawMessage{"timer": event}, nil
	}
	if _, ok := fields["action"]; ok {
		return h.action(ctx, event)
	}
	h.log.Info("invoke", "requestId", requestID(ctx), "kind", "raw")
	return event, nil
}

// action runs the action named by the event; an unknown action echoes the
// event back.
func (h *handler) action(ctx context.Context, event json.RawMessage) (any, error) {
	var req request
	if err := json.Unmarshal(event, &req); err != nil {
		return nil, fmt.Errorf("echo: action event: %w", err)
	}
	h.log.Info("invoke", "requestId", requestID(ctx), "action", req.Action)
	switch req.Action {
	case "echo":
		return echoReply{Data: req.Data, info: describe(ctx, req.Env)}, nil
	case "error":
		if req.Message == "" {
			req.Message = "echo: error requested"
		}
		return nil, errors.New(req.Message)
	case "panic":
		if req.Message == "" {
			req.Message = "echo: panic requested"
		}
		panic(req.Message)
	case "sleep":
		if err := sleep(ctx, req.MS); err != nil {
			return nil, err
		}
		return map[string]int{"sleptMs": req.MS}, nil
	case "spin":
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
		return map[string]int{"sleptMs": req.MS}, nil
	case "exit":
		h.log.Info("exiting", "requestId", requestID(ctx), "code", req.Code)
		h.exit(req.Code)
		return nil, fmt.Errorf("echo: exit(%d) returned", req.Code)
	case "alloc":
		return alloc(ctx, req.MB, req.MS)
	default:
		return event, nil
	}
}

// info is the invocation's function context and selected environment.
type info struct {
	RequestID    string         `json:"requestId"`
	FunctionName string         `json:"functionName"`
	Namespace    string         `json:"namespace"`
	Version      string         `json:"version"`
	MemoryMB     int32          `json:"memoryMb"`
	TimeLimitMs  int32          `json:"timeLimitMs"`
	Env          map[string]any `json:"env"`
	// DeadlineMs is the time left until the invocation's deadline; absent
	// when the context has none.
	DeadlineMs *int64 `json:"deadlineMs,omitempty"`
	PID        int    `json:"pid"`
}

type echoReply struct {
	Data json.RawMessage `json:"data"`
	info
}

// reportedEnv are the variables the echo action reports when set.
var reportedEnv = []string{"TENCENTCLOUD_RUNENV", "SCF_FUNCTIONNAME", "SCF_NAMESPACE", "SCF_FUNCTIONVERSION",
	"TENCENTCLOUD_REGION", "USER_CODE_ROOT", "TRIGGER_SRC"}

// secretEnv are reported only as whether they are set, never their values.
var secretEnv = []string{"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"}

// describe reads the function context from ctx and the environment:
// reportedEnv and extra by value (unset ones left out), secretEnv and any
// extra name containing SECRET, TOKEN, PASSWORD or KEY as booleans.
func describe(ctx context.Context, extra []string) info {
	in := info{PID: os.Getpid(), Env: map[string]any{}}
	if fc, ok := functioncontext.FromContext(ctx); ok {
		in.RequestID, in.FunctionName, in.Namespace, in.Version = fc.RequestID, fc.FunctionName, fc.Namespace, fc.FunctionVersion
		in.MemoryMB, in.TimeLimitMs = fc.MemoryLimitInMb, fc.TimeLimitInMs
	}
	if d, ok := ctx.Deadline(); ok {
		ms := time.Until(d).Milliseconds()
		in.DeadlineMs = &ms
	}
	for _, k := range secretEnv {
		in.Env[k] = os.Getenv(k) != ""
	}
	for _, k := range slices.Concat(reportedEnv, extra) {
		if _, done := in.Env[k]; done {
			continue
		}
		v, ok := os.LookupEnv(k)
		switch {
		case secretName(k):
			in.Env[k] = v != ""
		case ok:
			in.Env[k] = v
		}
	}
	return in
}

func secretName(k string) bool {
	k = strings.ToUpper(k)
	for _, s := range []string{"SECRET", "TOKEN", "PASSWORD", "KEY"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func requestID(ctx context.Context) string {
	if fc, ok := functioncontext.FromContext(ctx); ok {
		return fc.RequestID
	}
	return ""
}

// sleep waits ms milliseconds or until ctx is done, returning ctx.Err()
// then.
func sleep(ctx context.Context, ms int) error {
	if ms < 0 {
		return fmt.Errorf("echo: sleep: negative ms %d", ms)
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// allocReply reports an alloc action; the RSS figures are absent where
// /proc/self/status cannot be read.
type allocReply struct {
	AllocatedMB int    `json:"allocatedMb"`
	HeldMs      int    `json:"heldMs"`
	RSSMB       *int64 `json:"rssMb,omitempty"`    // resident set while holding
	MaxRSSMB    *int64 `json:"maxRssMb,omitempty"` // peak resident set of the process
}

// alloc allocates mb MB, writes every page so it becomes resident, holds
// it for ms milliseconds (or until ctx is done), reads the RSS, and hands
// the memory back to the OS before returning.
func alloc(ctx context.Context, mb, ms int) (any, error) {
	if mb < 0 || mb > maxAllocMB {
		return nil, fmt.Errorf("echo: alloc: mb %d outside 0..%d", mb, maxAllocMB)
	}
	defer debug.FreeOSMemory()
	buf := make([]byte, mb<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	if err := sleep(ctx, ms); err != nil {
		return nil, err
	}
	rss, peak := readRSS()
	runtime.KeepAlive(buf)
	return allocReply{AllocatedMB: mb, HeldMs: ms, RSSMB: rss, MaxRSSMB: peak}, nil
}

// readRSS returns VmRSS and VmHWM from /proc/self/status in MB.
func readRSS() (rss, peak *int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, nil
	}
	for line := range strings.Lines(string(b)) {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		mb := kb >> 10
		if name == "VmRSS" {
			rss = &mb
		} else {
			peak = &mb
		}
	}
	return rss, peak
}

// httpReply is the body of the integration response to an HTTP event.
type httpReply struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   map[string][]string `json:"query"`
	Headers map[string]string   `json:"headers"`
	// Body is the request body parsed as JSON, or the text when it is not
	// JSON; absent when empty.
	Body    any  `json:"body,omitempty"`
	Context info `json:"context"`
	// Result is the value of the action the body named, if any.
	Result any `json:"result,omitempty"`
}

// httpEvent answers an API Gateway or Function URL event with an integration
// response; a body {"action":...} runs that action first.
func (h *handler) httpEvent(ctx context.Context, event json.RawMessage) (any, error) {
	var req struct {
		events.APIGatewayRequest
		IsBase64Encoded bool `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(event, &req); err != nil {
		return nil, fmt.Errorf("echo: http event: %w", err)
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, fmt.Errorf("echo: http event: base64 body: %w", err)
		}
		body = b
	}
	h.log.Info("invoke", "requestId", requestID(ctx), "kind", "http", "method", req.Method, "path", req.Path)
	reply := httpReply{Method: req.Method, Path: req.Path, Query: req.QueryString, Headers: req.Headers}
	var parsed any
	switch {
	case len(body) == 0:
	case json.Unmarshal(body, &parsed) == nil:
		reply.Body = parsed
	default:
		reply.Body = string(body)
	}
	var extra []string
	if obj, ok := parsed.(map[string]any); ok {
		if _, ok := obj["action"]; ok {
			res, err := h.action(ctx, body)
			if err != nil {
				return nil, err
			}
			reply.Result = res
			var r request
			_ = json.Unmarshal(body, &r)
			extra = r.Env
		}
	}
	reply.Context = describe(ctx, extra)
	status := http.StatusOK
	if s := req.QueryString["status"]; len(s) > 0 {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 100 || n > 599 {
			return nil, fmt.Errorf("echo: status=%q is not an HTTP status code", s[0])
		}
		status = n
	}
	out, err := json.Marshal(reply)
	if err != nil {
		return nil, err
	}
	return events.APIGatewayResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(out)}, nil
}
