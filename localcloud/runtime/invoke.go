package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
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
	v, alias, err := h.routeLocked(inv.Namespace, inv.Function, inv.Qualifier)
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
			res, err := h.run(context.Background(), v, alias, inv)
			h.logOutcome(inv, res, err)
		}()
		return &Result{RequestID: inv.RequestID, Version: v.info.Version}, nil
	}
	return h.run(ctx, v, alias, inv)
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
func (h *Host) run(ctx context.Context, v *version, alias string, inv Invocation) (*Result, error) {
	spec := v.info.Spec
	keys := seriesOf(v, alias)
	inst, cold, err := h.acquire(ctx, v)
	if err != nil {
		var se *Error
		if errors.As(err, &se) && se.Status == StatusConcurrencyLimit {
			now := h.now()
			keys.each(func(k metrics.Key) { h.cfg.Metrics.Throttled(k, now) })
		}
		return nil, err
	}
	h.aliasBusy(v, alias, +1)
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
	keys.each(func(k metrics.Key) {
		h.cfg.Metrics.Invocation(k, end, res.Duration, outcome)
		if res.MemUsageBytes > 0 {
			h.cfg.Metrics.Memory(k, end, float64(res.MemUsageBytes)/(1<<20))
		}
	})
	h.aliasBusy(v, alias, -1)
	h.release(v, inst, keep, alias)
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

// seriesKeys are the series one request is observed in: its version's
// and, when it came through an alias, the alias's (Cloud Monitor's alias
// dimension: the traffic sent through the alias, whichever version served
// it).
type seriesKeys struct {
	version, alias metrics.Key
	viaAlias       bool
}

func seriesOf(v *version, alias string) seriesKeys {
	k := seriesKeys{version: metricsKey(v), viaAlias: alias != ""}
	if k.viaAlias {
		k.alias = metrics.Key{Namespace: v.fn.key.namespace, Function: v.fn.key.name, Alias: alias}
	}
	return k
}

func (k seriesKeys) each(f func(metrics.Key)) {
	f(k.version)
	if k.viaAlias {
		f(k.alias)
	}
}

// aliasBusy moves the number of requests running through an alias by
// delta and records it as the alias's ConcurrentExecutions. It counts
// requests from the moment they have an instance, so a request waiting for
// a cold start shows in its version's level but not yet in its alias's.
func (h *Host) aliasBusy(v *version, alias string, delta int) {
	if alias == "" {
		return
	}
	h.mu.Lock()
	n := v.fn.aliasBusy[alias] + delta
	v.fn.aliasBusy[alias] = n
	now := h.now()
	h.mu.Unlock()
	h.cfg.Metrics.Concurrency(seriesOf(v, alias).alias, now, n)
}

// pendingStart is an on-demand instance being started, with the requests
// that wait for it (the first of which starts it).
type pendingStart struct {
	waiters int           // requests it will serve once ready; guarded by Host.mu
	done    chan struct{} // closed when inst or err is set
	inst    *instance
	err     error
}

// maxConcurrency is how many requests one instance of v serves at once.
func (v *version) maxConcurrency() int { return max(1, v.info.Spec.MaxConcurrency) }

// acquire admits one request on v and hands out an instance with a free
// slot, joins an instance starting for earlier requests, or cold-starts
// one; the package comment gives the order. cold reports that the request
// waited for an instance to start.
func (h *Host) acquire(ctx context.Context, v *version) (inst *instance, cold bool, err error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, false, &Error{Status: StatusContainerExited, Code: "ContainerStateExited", Message: "localcloud is shutting down"}
	}
	now := h.now()
	canGrow := h.canGrowLocked(v)
	inst, replace := h.pickLocked(v, canGrow)
	var ps *pendingStart
	starter := false
	switch {
	case inst != nil:
		h.occupyLocked(v, inst, now)
	default:
		ps = v.joinablePending()
		switch {
		case ps != nil:
			ps.waiters++
			v.busy++
		case !canGrow:
			mem := v.info.Spec.MemoryMB
			err := &Error{Status: StatusConcurrencyLimit, Code: "ResourceLimitReached",
				Message: fmt.Sprintf("Function [%s] concurrency exceeded: %d MB of the %d MB quota in use, the function needs %d MB per instance",
					v.fn.key.name, h.usedMB, h.cfg.AccountConcurrencyMB, mem)}
			h.mu.Unlock()
			if replace {
				h.ensureProvisioned(v)
			}
			return nil, false, err
		default:
			ps = &pendingStart{waiters: 1, done: make(chan struct{})}
			v.pending = append(v.pending, ps)
			h.changeFootprintLocked(v, func() { v.active++ })
			v.busy++
			starter = true
		}
	}
	level := h.levelLocked(v)
	h.mu.Unlock()
	h.cfg.Metrics.Concurrency(metricsKey(v), now, level)
	if replace {
		h.ensureProvisioned(v)
	}
	if inst != nil {
		return inst, false, nil
	}
	if starter {
		h.coldStart(ctx, v, ps)
	} else {
		<-ps.done
	}
	if ps.err != nil {
		return nil, false, ps.err
	}
	return ps.inst, true, nil
}

// coldStart starts the instance of ps and hands it to its waiters. The
// caller's context does not bound the start: an instance outlives the
// request that caused it, as on SCF.
func (h *Host) coldStart(ctx context.Context, v *version, ps *pendingStart) {
	inst, err := h.startInstance(context.WithoutCancel(ctx), v, false)
	h.mu.Lock()
	now := h.now()
	v.pending = slices.DeleteFunc(v.pending, func(p *pendingStart) bool { return p == ps })
	if err != nil {
		ps.err = err
		v.busy -= ps.waiters
		h.changeFootprintLocked(v, func() { v.active-- })
	} else {
		ps.inst = inst
		inst.inflight, inst.billedTo, inst.lastUsed = ps.waiters, now, now
		v.all[inst] = struct{}{}
		v.inits = append(v.inits, inst.info())
	}
	level := h.levelLocked(v)
	h.mu.Unlock()
	close(ps.done)
	if err != nil {
		h.cfg.Metrics.Concurrency(metricsKey(v), now, level)
		return
	}
	h.cfg.Logger.Info("instance started", "function", v.fn.key.name, "version", v.info.Version,
		"instance", inst.id, "provisioned", false, "init_ms", inst.initTime.Milliseconds())
}

// canGrowLocked reports whether one more instance of v may become busy:
// provisioned capacity covers it, or the account quota has room.
func (h *Host) canGrowLocked(v *version) bool {
	return v.active < v.provTarget() || h.usedMB+v.info.Spec.MemoryMB <= h.cfg.AccountConcurrencyMB
}

// pickLocked returns the ready instance a new request goes to, nil when
// every instance is full (or, without canGrow, when none is already busy
// with a free slot). Dead or outdated instances found on the way are
// retired, idle ones dropped; replace reports that a provisioned one was
// dropped and needs a successor.
func (h *Host) pickLocked(v *version, canGrow bool) (best *instance, replace bool) {
	limit := v.maxConcurrency()
	for inst := range v.all {
		if inst.retired || inst.inflight >= limit {
			continue
		}
		if !inst.alive() || inst.gen != v.gen {
			inst.retired = true
			if inst.inflight == 0 {
				delete(v.all, inst)
				go inst.kill()
				replace = replace || inst.provisioned
			}
			continue
		}
		if inst.inflight == 0 && !canGrow {
			continue
		}
		if best == nil || preferred(inst, best) {
			best = inst
		}
	}
	return best, replace
}

// preferred orders candidate instances: provisioned first, then the
// busiest, then the most recently used (a warm cache), then by id so the
// choice is deterministic.
func preferred(a, b *instance) bool {
	if a.provisioned != b.provisioned {
		return a.provisioned
	}
	if a.inflight != b.inflight {
		return a.inflight > b.inflight
	}
	if !a.lastUsed.Equal(b.lastUsed) {
		return a.lastUsed.After(b.lastUsed)
	}
	return a.id < b.id
}

// joinablePending returns a starting instance with a free slot, if any.
func (v *version) joinablePending() *pendingStart {
	for _, ps := range v.pending {
		if ps.waiters < v.maxConcurrency() {
			return ps
		}
	}
	return nil
}

// occupyLocked gives inst one more request at now.
func (h *Host) occupyLocked(v *version, inst *instance, now time.Time) {
	if inst.inflight == 0 {
		h.changeFootprintLocked(v, func() { v.active++ })
		inst.billedTo = now
	}
	inst.inflight++
	v.busy++
}

// levelLocked is the ConcurrentExecutions level of v now.
func (h *Host) levelLocked(v *version) int {
	if h.cfg.ConcurrencyMetric == ConcurrencyInstances {
		return v.active
	}
	return v.busy
}

// release ends a request on inst. An instance that is not to be kept is
// retired: it takes no new requests and is stopped when its last one
// ends; a provisioned one is then replaced. The instance's busy time since
// it was last billed is billed as MemDuration.
func (h *Host) release(v *version, inst *instance, keep bool, alias string) {
	h.mu.Lock()
	now := h.now()
	billed := max(0, now.Sub(inst.billedTo))
	inst.billedTo = now
	inst.inflight--
	v.busy--
	if !keep || !inst.alive() || inst.gen != v.gen || h.closed {
		inst.retired = true
	}
	stop, replace := false, false
	if inst.inflight == 0 {
		h.changeFootprintLocked(v, func() { v.active-- })
		inst.lastUsed = now
		if inst.retired {
			delete(v.all, inst)
			stop, replace = true, inst.provisioned
		}
	}
	level := h.levelLocked(v)
	h.mu.Unlock()
	h.cfg.Metrics.Concurrency(metricsKey(v), now, level)
	mbms := float64(v.info.Spec.MemoryMB) * float64(billed) / float64(time.Millisecond)
	seriesOf(v, alias).each(func(k metrics.Key) { h.cfg.Metrics.MemDuration(k, now, mbms) })
	if stop {
		go inst.kill()
	}
	if replace {
		h.ensureProvisioned(v)
	}
}

// changeFootprintLocked applies change to v and keeps the account's used
// concurrency (max(active, provisioned) x memory per version) in step.
func (h *Host) changeFootprintLocked(v *version, change func()) {
	before := v.footprintMB()
	change()
	if !v.deleted {
		h.usedMB += v.footprintMB() - before
	}
}

func (v *version) footprintMB() int {
	return max(v.active, v.provTarget()) * v.info.Spec.MemoryMB
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
	v, alias, err := h.routeLocked(namespace, function, qualifier)
	h.mu.Unlock()
	if err == nil && v.info.Spec.Type != WebFunction {
		err = &Error{Status: StatusInvalidParameter, Code: "InvalidParameterValue.FunctionType",
			Message: fmt.Sprintf("function %s is an event function: invoke it with an event", function)}
	}
	if err != nil {
		writeSCFError(w, err, requestID)
		return
	}
	keys := seriesOf(v, alias)
	inst, _, err := h.acquire(r.Context(), v)
	if err != nil {
		var se *Error
		if errors.As(err, &se) && se.Status == StatusConcurrencyLimit {
			now := h.now()
			keys.each(func(k metrics.Key) { h.cfg.Metrics.Throttled(k, now) })
		}
		writeSCFError(w, err, requestID)
		return
	}
	h.aliasBusy(v, alias, +1)
	ctx, cancel := context.WithTimeout(r.Context(), v.info.Spec.Timeout)
	defer cancel()
	rec := &statusRecorder{ResponseWriter: w}
	begin := time.Now()
	r2 := r.WithContext(ctx)
	r2.Header.Set("X-Scf-Request-Id", requestID)
	// The proxy panics with http.ErrAbortHandler when a streamed body
	// breaks off (the instance died, or the caller left): the request is
	// still accounted for and its slot released on the way up, and the
	// panic then aborts the caller's connection, which is how it learns
	// that the body is incomplete.
	defer h.endWeb(ctx, w, webRequest{v: v, inst: inst, alias: alias, keys: keys, rec: rec, begin: begin, id: requestID})
	inst.web.ServeHTTP(rec, r2)
}

// webRequest is one web request in flight on an instance.
type webRequest struct {
	v     *version
	inst  *instance
	alias string
	keys  seriesKeys
	rec   *statusRecorder
	begin time.Time
	id    string
}

// endWeb records the end of a web request and releases its instance's
// slot; ctx is the request's, bounded by the function's timeout. See
// ServeWeb.
func (h *Host) endWeb(ctx context.Context, w http.ResponseWriter, wr webRequest) {
	v, inst, alias, keys, rec, requestID := wr.v, wr.inst, wr.alias, wr.keys, wr.rec, wr.id
	d := time.Since(wr.begin)
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
	var rss int64
	if keep {
		rss = inst.rss(end)
	}
	keys.each(func(k metrics.Key) {
		h.cfg.Metrics.Invocation(k, end, d, outcome)
		if rss > 0 {
			h.cfg.Metrics.Memory(k, end, float64(rss)/(1<<20))
		}
	})
	h.aliasBusy(v, alias, -1)
	h.release(v, inst, keep, alias)
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
