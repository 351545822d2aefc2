package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/scfgate/scfgate/localcloud/metrics"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// killGrace is how long past its deadline an invocation may take to
// answer before its instance is killed.
const killGrace = 200 * time.Millisecond

// Invoke runs an event function. A platform refusal (unknown function,
// event too large, concurrency exhausted) is returned as an *Error and
// nothing runs; otherwise the Result says how the function ended. An
// asynchronous invocation returns at once with only RequestID and Version
// set.
func (h *Host) Invoke(ctx context.Context, inv Invocation) (*Result, error) {
	if inv.RequestID == "" {
		inv.RequestID = newID()
	}
	h.mu.Lock()
	v, err := h.resolveLocked(inv.Namespace, inv.Function, inv.Qualifier)
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := checkEvent(v.info.Spec, inv); err != nil {
		return nil, err
	}
	if inv.Async {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			res, err := h.run(context.Background(), v, inv)
			h.logOutcome(inv, res, err)
		}()
		return &Result{RequestID: inv.RequestID, Version: v.info.Version}, nil
	}
	return h.run(ctx, v, inv)
}

func checkEvent(spec FunctionSpec, inv Invocation) error {
	if spec.Type == WebFunction {
		return &Error{Status: StatusInvalidParameter, Code: "InvalidParameterValue.FunctionType",
			Message: fmt.Sprintf("function %s is a web function: send it HTTP requests instead of events", spec.Name)}
	}
	limit := maxSyncEventBytes
	if inv.Async {
		limit = maxAsyncEventBytes
	}
	if len(inv.Event) > limit {
		return &Error{Status: StatusRequestTooLarge, Code: "RequestTooLarge",
			Message: fmt.Sprintf("event is %d bytes, over the %d-byte limit of %s invocations", len(inv.Event), limit, invocationKind(inv.Async))}
	}
	if len(inv.Event) > 0 && !json.Valid(inv.Event) {
		return &Error{Status: StatusInvalidParameter, Code: "InvalidParameterValue",
			Message: "event is not valid JSON"}
	}
	return nil
}

func invocationKind(async bool) string {
	if async {
		return "asynchronous"
	}
	return "synchronous"
}

func (h *Host) logOutcome(inv Invocation, res *Result, err error) {
	attrs := []any{"request_id", inv.RequestID, "function", inv.Function, "async", inv.Async}
	switch {
	case err != nil:
		h.cfg.Logger.Warn("invocation refused", append(attrs, "error", err)...)
	case res.FunctionError != nil:
		h.cfg.Logger.Info("invocation failed", append(attrs, "status", res.FunctionError.Status, "error", res.FunctionError.Message)...)
	default:
		h.cfg.Logger.Debug("invocation done", append(attrs, "duration_ms", res.Duration.Milliseconds())...)
	}
}

// run admits, acquires an instance, invokes and releases.
func (h *Host) run(ctx context.Context, v *version, inv Invocation) (*Result, error) {
	spec := v.info.Spec
	key := metricsKey(v)
	inst, cold, err := h.acquire(ctx, v)
	if err != nil {
		var se *Error
		if errors.As(err, &se) && se.Status == StatusConcurrencyLimit {
			h.cfg.Metrics.Throttled(key, h.now())
		}
		return nil, err
	}
	res := &Result{RequestID: inv.RequestID, Version: v.info.Version, ColdStart: cold}
	if cold {
		res.InitDuration = inst.initTime
	}
	envJSON := v.invokeEnv(inst.gen, inv.TriggerSrc)
	deadline := time.Now().Add(spec.Timeout)
	req := &messages.InvokeRequest{
		Payload:               inv.Event,
		RequestId:             inv.RequestID,
		Deadline:              messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
		InvokedFunctionUnique: fmt.Sprintf("qcs::scf:%s:%s:namespace/%s/function/%s", h.cfg.Region, h.cfg.AppID, spec.Namespace, spec.Name),
		Namespace:             spec.Namespace,
		FunctionName:          spec.Name,
		FunctionVersion:       v.info.Version,
		MemoryLimitInMb:       int32(spec.MemoryMB),
		TimeLimitInMs:         int32(spec.Timeout / time.Millisecond),
		Environment:           envJSON,
		TencentcloudRegion:    h.cfg.Region,
		TencentcloudAppID:     h.cfg.AppID,
		TencentcloudUin:       h.cfg.UIN,
	}
	begin := time.Now()
	// The handler sees the deadline itself; the instance is killed only if
	// it has not answered shortly after, so a handler that honours its
	// context keeps its instance.
	resp, err := inst.invoke(req, spec.Timeout+killGrace)
	res.Duration = time.Since(begin)
	end := h.now()
	keep := true
	switch {
	case errors.Is(err, errTimeout):
		keep = false
		res.FunctionError = &Error{Status: StatusTimeLimit, Code: "TimeLimitReached",
			Message: fmt.Sprintf("Invoking task timed out after %s", spec.Timeout)}
	case err == nil && res.Duration >= spec.Timeout:
		// The handler answered, but only once its deadline had passed
		// (typically with ctx.Err()): on SCF the time limit has already
		// ended the invocation. The instance itself is healthy.
		res.FunctionError = &Error{Status: StatusTimeLimit, Code: "TimeLimitReached",
			Message: fmt.Sprintf("Invoking task timed out after %s", spec.Timeout)}
	case err != nil:
		keep = false
		res.FunctionError = &Error{Status: StatusContainerExited, Code: "ContainerStateExited",
			Message: "instance exited during the invocation: " + inst.exitReason()}
	case resp.Error != nil:
		res.FunctionError = &Error{Status: StatusUserCodeException, Code: "UserCodeException",
			Message: resp.Error.Message, Type: resp.Error.Type}
		keep = !resp.Error.ShouldExit
	case len(resp.Payload) > maxSyncEventBytes:
		res.FunctionError = &Error{Status: StatusResponseTooLarge, Code: "ResponseTooLarge",
			Message: fmt.Sprintf("response is %d bytes, over the %d-byte limit", len(resp.Payload), maxSyncEventBytes)}
	default:
		res.Payload = resp.Payload
	}
	if keep && inst.alive() {
		res.MemUsageBytes = inst.rss(end)
		if res.MemUsageBytes > int64(spec.MemoryMB)<<20 {
			keep = false
			res.Payload = nil
			res.FunctionError = &Error{Status: StatusMemoryLimit, Code: "MemoryLimitReached",
				Message: fmt.Sprintf("memory %d MB over the configured %d MB", res.MemUsageBytes>>20, spec.MemoryMB)}
		}
	}
	outcome := metrics.OK
	if res.FunctionError != nil {
		outcome = metrics.FunctionError
	}
	h.cfg.Metrics.Invocation(key, end, res.Duration, outcome)
	if res.MemUsageBytes > 0 {
		h.cfg.Metrics.Memory(key, end, float64(res.MemUsageBytes)/(1<<20))
	}
	h.release(v, inst, keep, end)
	return res, nil
}

// invokeEnv is the Environment JSON of an invocation: the function's
// variables plus TRIGGER_SRC. It is always sent, since scf-go-lib sets
// these variables on every invocation and never unsets them, so a timer's
// value would otherwise stick. The JSON depends only on the version's
// generation and the trigger, so it is built once per pair.
func (v *version) invokeEnv(gen int, triggerSrc string) string {
	key := envKey{gen, triggerSrc}
	if s, ok := v.envCache.Load(key); ok {
		return s.(string)
	}
	env := maps.Clone(v.info.Spec.Environment)
	if env == nil {
		env = map[string]string{}
	}
	env["TRIGGER_SRC"] = triggerSrc
	b, _ := json.Marshal(env)
	v.envCache.Store(key, string(b))
	return string(b)
}

type envKey struct {
	gen        int
	triggerSrc string
}

func metricsKey(v *version) metrics.Key {
	return metrics.Key{Namespace: v.fn.key.namespace, Function: v.fn.key.name, Version: v.info.Version}
}

// acquire admits one request on v and hands out an idle instance, or
// cold-starts one. cold reports a cold start.
func (h *Host) acquire(ctx context.Context, v *version) (inst *instance, cold bool, err error) {
	now := h.now()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, false, &Error{Status: StatusContainerExited, Code: "ContainerStateExited", Message: "localcloud is shutting down"}
	}
	if err := h.admitLocked(v); err != nil {
		h.mu.Unlock()
		return nil, false, err
	}
	busy := v.busy
	for len(v.idle) > 0 && inst == nil {
		last := v.idle[len(v.idle)-1]
		v.idle = v.idle[:len(v.idle)-1]
		if last.alive() && last.gen == v.gen {
			inst = last
		} else {
			delete(v.all, last)
			go last.kill()
		}
	}
	h.mu.Unlock()
	h.cfg.Metrics.Concurrency(metricsKey(v), now, busy)
	if inst != nil {
		return inst, false, nil
	}
	// The caller's context does not bound the start: an instance outlives
	// the request that caused it, as on SCF.
	inst, err = h.startInstance(context.WithoutCancel(ctx), v, false)
	if err != nil {
		h.release(v, nil, false, h.now())
		return nil, false, err
	}
	h.mu.Lock()
	v.all[inst] = struct{}{}
	v.inits = append(v.inits, inst.info())
	h.mu.Unlock()
	h.cfg.Logger.Info("instance started", "function", v.fn.key.name, "version", v.info.Version,
		"instance", inst.id, "provisioned", false, "init_ms", inst.initTime.Milliseconds())
	return inst, true, nil
}

// release ends a request on v. A kept instance goes back to the idle list;
// a dropped one is killed, and a provisioned one is replaced.
func (h *Host) release(v *version, inst *instance, keep bool, now time.Time) {
	h.mu.Lock()
	h.changeFootprintLocked(v, func() { v.busy-- })
	busy := v.busy
	replace := false
	if inst != nil {
		if keep && inst.alive() && inst.gen == v.gen && !h.closed {
			inst.lastUsed = now
			v.idle = append(v.idle, inst)
		} else {
			delete(v.all, inst)
			replace = inst.provisioned
			keep = false
		}
	}
	h.mu.Unlock()
	h.cfg.Metrics.Concurrency(metricsKey(v), now, busy)
	if inst != nil && !keep {
		go inst.kill()
	}
	if replace {
		h.ensureProvisioned(v)
	}
}

// admitLocked reserves concurrency for one more request on v, or refuses
// with status 432 when the account quota would be exceeded.
func (h *Host) admitLocked(v *version) error {
	mem := v.info.Spec.MemoryMB
	if v.busy >= v.provTarget() && h.usedMB+mem > h.cfg.AccountConcurrencyMB {
		return &Error{Status: StatusConcurrencyLimit, Code: "ResourceLimitReached",
			Message: fmt.Sprintf("Function [%s] concurrency exceeded: %d MB of the %d MB quota in use, the function needs %d MB per instance",
				v.fn.key.name, h.usedMB, h.cfg.AccountConcurrencyMB, mem)}
	}
	h.changeFootprintLocked(v, func() { v.busy++ })
	return nil
}

// changeFootprintLocked applies change to v and keeps the account's used
// concurrency (max(busy, provisioned) x memory per version) in step.
func (h *Host) changeFootprintLocked(v *version, change func()) {
	before := v.footprintMB()
	change()
	h.usedMB += v.footprintMB() - before
}

func (v *version) footprintMB() int {
	return max(v.busy, v.provTarget()) * v.info.Spec.MemoryMB
}

// ServeWeb proxies one HTTP request to an instance of a web function,
// streaming the response. Refusals are answered with the SCF status as the
// HTTP status and an SCF error body.
func (h *Host) ServeWeb(w http.ResponseWriter, r *http.Request, namespace, function, qualifier string) {
	requestID := r.Header.Get("X-Scf-Request-Id")
	if requestID == "" {
		requestID = newID()
	}
	h.mu.Lock()
	v, err := h.resolveLocked(namespace, function, qualifier)
	h.mu.Unlock()
	if err == nil && v.info.Spec.Type != WebFunction {
		err = &Error{Status: StatusInvalidParameter, Code: "InvalidParameterValue.FunctionType",
			Message: fmt.Sprintf("function %s is an event function: invoke it with an event", function)}
	}
	if err != nil {
		writeSCFError(w, err, requestID)
		return
	}
	key := metricsKey(v)
	inst, _, err := h.acquire(r.Context(), v)
	if err != nil {
		var se *Error
		if errors.As(err, &se) && se.Status == StatusConcurrencyLimit {
			h.cfg.Metrics.Throttled(key, h.now())
		}
		writeSCFError(w, err, requestID)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), v.info.Spec.Timeout)
	defer cancel()
	rec := &statusRecorder{ResponseWriter: w}
	begin := time.Now()
	r2 := r.WithContext(ctx)
	r2.Header.Set("X-Scf-Request-Id", requestID)
	inst.web.ServeHTTP(rec, r2)
	d := time.Since(begin)
	end := h.now()
	outcome := metrics.OK
	keep := inst.alive()
	if ctx.Err() == context.DeadlineExceeded {
		keep = false
		outcome = metrics.FunctionError
		if !rec.wrote {
			writeSCFError(w, &Error{Status: StatusTimeLimit, Code: "TimeLimitReached",
				Message: fmt.Sprintf("Invoking task timed out after %s", v.info.Spec.Timeout)}, requestID)
		}
	} else if rec.status >= 500 || !keep {
		outcome = metrics.FunctionError
	}
	h.cfg.Metrics.Invocation(key, end, d, outcome)
	if keep {
		if rss := inst.rss(end); rss > 0 {
			h.cfg.Metrics.Memory(key, end, float64(rss)/(1<<20))
		}
	}
	h.release(v, inst, keep, end)
}

// SCFErrorBody is the JSON body localcloud's HTTP paths answer a function
// or platform error with, in the shape SCF's own error bodies use.
type SCFErrorBody struct {
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	RequestID    string `json:"requestId"`
}

func writeSCFError(w http.ResponseWriter, err error, requestID string) {
	status, body := http.StatusInternalServerError, SCFErrorBody{ErrorCode: http.StatusInternalServerError, ErrorMessage: err.Error(), RequestID: requestID}
	var se *Error
	if errors.As(err, &se) {
		status = se.Status
		body = SCFErrorBody{ErrorCode: se.Status, ErrorMessage: se.Message, RequestID: requestID}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Scf-Request-Id", requestID)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets SSE through: ReverseProxy flushes after every write.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
