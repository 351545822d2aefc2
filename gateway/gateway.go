// Package gateway is scfgate's front door: an OpenAI-compatible
// http.Handler that authenticates API keys, shapes traffic with token
// buckets, refuses requests OpenAI would refuse (package chatreq), breaks
// circuits on failing backends, routes each model across its backends
// (spilling a request over to the next one while a backend is open, full
// or throttling: routing.go) and forwards chat completions to SCF
// functions (InvokeFunction: event-function models, no token streaming)
// or OpenAI-compatible HTTP upstreams (a web function's Function URL,
// CAM-signed: token streaming and batching). A client's error stays the
// client's: a 4xx, from the gateway or the model, is never retried and
// never counted by the breaker. docs/deploy.md tells which backend to
// choose.
//
// The same handler serves a plain HTTP server (scfgate serve, a web
// function) and SCF event invocations (Gateway.Invoke takes API Gateway
// and Function URL events). The package takes a typed Config and its
// collaborators as arguments; it reads no environment and no files.
package gateway

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/sony/gobreaker/v2"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/internal/clock"
)

// Options are the gateway's collaborators; the zero value of each field
// has a working default.
type Options struct {
	// Logger receives access and error logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock of shaping, breakers' Retry-After and latency; nil
	// means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends (shaping delays, retry backoff); nil
	// means clock.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) for retry backoff; nil uses
	// math/rand.
	Jitter func() float64
	// Rand returns a number in [0, 1) for the weighted routing policy's
	// draws, from any goroutine; nil uses math/rand.
	Rand func() float64
	// Limiter replaces the in-memory token buckets (e.g. by a shared one);
	// nil means NewLocalLimiter(cfg.Limits).
	Limiter Limiter
	// Backends replaces configured backends by name (a test double, or a
	// backend kind this package does not build).
	Backends map[string]Backend
	// SCF is how scf backends reach the SCF API.
	SCF SCFOptions
	// HTTP is how http backends sign requests to Function URLs and find
	// them.
	HTTP HTTPOptions
	// Transport carries http backends' requests; nil means one transport
	// for all of them, cloned from http.DefaultTransport (newTransport).
	Transport http.RoundTripper
	// BreakerSignal shares breaker openings with other gateway instances
	// (e.g. through Redis); nil means each instance's breakers stand alone.
	BreakerSignal BreakerSignal
	// Metrics are extra series appended to /metrics.
	Metrics []MetricsWriter
	// KeySource supplies API keys that change while the gateway runs
	// (rotation without a redeploy), merged with Config.Keys; nil means
	// Config.Keys only.
	KeySource KeySource
}

// Gateway is the OpenAI-compatible handler. It is safe for concurrent use.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	realClock bool // now is time.Now
	sleep     func(ctx context.Context, d time.Duration) error
	jitter    func() float64
	rand      func() float64
	limiter   Limiter
	metrics   *metrics
	demand    *demand
	keys      keyring
	tokens    bool // token limits are configured, or may come with rotated keys (tokens.go)
	models    map[string]*servedModel
	backends  map[string]*backendState
	breakers  map[string]*breaker
	spills    spillCounts
	router    http.Handler
	fast      fastRoute // POST /v1/chat/completions without the router; see fastpath.go
	extra     []MetricsWriter
	idPrefix  string
	idSeq     atomic.Uint64
	modelList []byte
	// modelObjects are the answers of GET /v1/models/{model}, by name.
	modelObjects map[string][]byte
}

// New validates cfg and builds the gateway.
func New(cfg Config, opts Options) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: opts.Logger, now: opts.Now, sleep: opts.Sleep, jitter: opts.Jitter,
		rand: opts.Rand, limiter: opts.Limiter, metrics: newMetrics(), demand: newDemand(cfg.Models), models: map[string]*servedModel{},
		backends: map[string]*backendState{}, breakers: map[string]*breaker{}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now, g.realClock = time.Now, true
	}
	if g.sleep == nil {
		g.sleep = clock.Sleep
	}
	if g.jitter == nil {
		g.jitter = mrand.Float64
	}
	if g.rand == nil {
		g.rand = mrand.Float64
	}
	if g.limiter == nil {
		g.limiter = NewLocalLimiter(cfg.Limits)
	}
	var seed [6]byte
	_, _ = rand.Read(seed[:])
	g.idPrefix = hex.EncodeToString(seed[:]) + "-"
	g.keys.init(cfg, opts.KeySource, g.log)
	// Keys from a KeySource may carry token limits: the token path is on
	// with one.
	g.tokens = tokenLimitsOn(&cfg) || opts.KeySource != nil
	transport := opts.Transport
	if transport == nil {
		transport = newTransport()
	}
	for _, bc := range cfg.Backends {
		b, ok := opts.Backends[bc.Name]
		if !ok {
			var err error
			switch bc.Kind {
			case KindSCF:
				b, err = NewSCFBackend(bc.SCF, opts.SCF)
			case KindHTTP:
				b, err = NewHTTPBackend(bc.HTTP, transport, opts.HTTP)
			}
			if err != nil {
				return nil, fmt.Errorf("gateway: backend %s: %w", bc.Name, err)
			}
		}
		br := newBreaker(bc.Name, cfg.Breaker, g.now, g.metrics, g.log)
		br.signal = opts.BreakerSignal
		g.breakers[bc.Name] = br
		g.backends[bc.Name] = newBackendState(bc.Name, b, br, bc.MaxInFlight)
	}
	type modelEntry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string       `json:"object"`
		Data   []modelEntry `json:"data"`
	}{Object: "list", Data: []modelEntry{}}
	g.modelObjects = make(map[string][]byte, len(cfg.Models))
	for _, m := range cfg.Models {
		g.models[m.Name] = newServedModel(m, g.backends)
		entry := modelEntry{ID: m.Name, Object: "model", OwnedBy: "scfgate"}
		list.Data = append(list.Data, entry)
		g.modelObjects[m.Name], _ = json.Marshal(entry)
	}
	g.modelList, _ = json.Marshal(list)
	g.extra = opts.Metrics
	g.setRoutes()
	return g, nil
}

// since is g.now().Sub(t); with the real clock it reads only the
// monotonic clock, which is all that Sub uses then.
func (g *Gateway) since(t time.Time) time.Duration {
	if g.realClock {
		return time.Since(t)
	}
	return g.now().Sub(t)
}

// setRoutes builds the router, with extra middleware after the request id
// and access log (tests put wrappers there), and the fast path through it.
func (g *Gateway) setRoutes(extra ...func(http.Handler) http.Handler) {
	g.router = g.routes(extra...)
	g.fast = newFastRoute(g.router, http.MethodPost, "/v1/chat/completions")
}

func (g *Gateway) routes(extra ...func(http.Handler) http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(g.requestID, g.accessLog)
	r.Use(extra...)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errNotFound, "Invalid URL ("+r.Method+" "+chatreq.Clip(r.URL.Path, 200)+")", "", "unknown_url")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, errInvalidRequest, "method not allowed", "", "method_not_allowed")
	})
	r.Get("/healthz", g.healthz)
	r.Get("/readyz", g.readyz)
	r.Get("/metrics", g.serveMetrics)
	r.Group(func(r chi.Router) {
		r.Use(g.auth, g.bodyLimit, g.shape)
		r.Post("/v1/chat/completions", g.chat)
		r.Get("/v1/models", g.listModels)
		r.Get("/v1/models/*", g.retrieveModel) // a model's name may hold '/
	})
	return r
}

func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// readyz reports each backend's breaker; it answers 503 when every
// backend's breaker is open, since then no model can be served.
func (g *Gateway) readyz(w http.ResponseWriter, _ *http.Request) {
	states := g.breakerStates()
	type backendState struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Breaker string `json:"breaker"`
	}
	out := struct {
		Status   string         `json:"status"`
		Backends []backendState `json:"backends"`
	}{Status: "ready"}
	open := 0
	for _, b := range g.cfg.Backends {
		s := states[b.Name]
		if s == gobreaker.StateOpen.String() {
			open++
		}
		out.Backends = append(out.Backends, backendState{Name: b.Name, Kind: b.Kind, Breaker: s})
	}
	status := http.StatusOK
	if open == len(g.cfg.Backends) {
		out.Status, status = "unavailable", http.StatusServiceUnavailable
	}
	body, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (g *Gateway) breakerStates() map[string]string {
	states := make(map[string]string, len(g.breakers))
	for name, b := range g.breakers {
		states[name] = b.state()
	}
	return states
}

func (g *Gateway) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	g.WriteMetrics(w)
}

func (g *Gateway) listModels(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(g.modelList)
}

// retrieveModel serves GET /v1/models/{model}: the model's entry of the
// list, or the chat route's model_not_found. The name is the rest of the
// path, unescaped ("Qwen/Qwen2.5-7B" or "Qwen%2FQwen2.5-7B").
func (g *Gateway) retrieveModel(w http.ResponseWriter, r *http.Request) {
	name, err := url.PathUnescape(chi.URLParam(r, "*"))
	if err != nil {
		name = chi.URLParam(r, "*")
	}
	obj, ok := g.modelObjects[name]
	if !ok {
		writeModelNotFound(w, name)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(obj)
}

// writeModelNotFound answers 404 for a model the gateway does not serve.
func writeModelNotFound(w http.ResponseWriter, name string) {
	writeError(w, http.StatusNotFound, errInvalidRequest, "the model '"+chatreq.Clip(name, 200)+"' does not exist", "model", "model_not_found")
}

// chat serves POST /v1/chat/completions.
func (g *Gateway) chat(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeTooLarge(w, g.cfg.BodyLimit)
			return
		}
		writeError(w, http.StatusBadRequest, errInvalidRequest, "could not read the request body", "", "")
		return
	}
	f, rerr := chatreq.Parse(body, chatreq.Rules{})
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	m, ok := g.models[string(f.Model)]
	if !ok {
		writeModelNotFound(w, string(f.Model))
		return
	}
	if rerr := m.limits().Check(&f); rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	if m.Upstream != "" && m.Upstream != m.Name {
		if body, err = replaceModel(body, m.Upstream); err != nil {
			writeError(w, http.StatusBadRequest, errInvalidRequest, "request body is not a JSON object", "", "")
			return
		}
	}
	st := requestStateFrom(r.Context())
	st.llm.model, st.llm.stream = m.Name, f.Stream
	if g.tokens {
		if body, ok = g.admitTokens(w, r, st, &m.Model, &f, body); !ok {
			return
		}
	}
	if f.Stream {
		// The usage chunk, for metrics and token limits; hidden from a
		// client that did not ask for it (tokenUse.streamLine).
		nb, asked, err := withUsage(body)
		if err != nil {
			g.settleTokens(st, false)
			writeError(w, http.StatusBadRequest, errInvalidRequest, "request body is not a JSON object", "", "")
			return
		}
		body, st.use.strip = nb, !asked
	}
	st.llm.group = g.metrics.start(m.Name, st.key)
	demand := g.demand.start(m.Name)
	defer g.demand.done(demand)
	// context.WithTimeout(r.Context(), g.cfg.Timeout), its timer set up
	// only if the backend waits on it.
	ctx := &st.deadline
	ctx.init(r.Context(), time.Now().Add(g.cfg.Timeout))
	defer ctx.stop()
	breq := &st.breq
	*breq = BackendRequest{Body: body, Stream: f.Stream, RequestID: st.id}
	att, berr := g.forward(ctx, m, breq)
	defer att.release()
	st.llm.spill = att.spill
	if att.backend != nil {
		w.Header()[BackendHeader] = att.backend.header
	}
	if berr != nil {
		st.llm.failure = berr.Kind
		g.settleTokens(st, false)
		g.writeBackendError(w, r, st.id, berr)
		return
	}
	defer att.resp.Body.Close()
	st.llm.backend = att.backend.name
	result := g.writeResponse(ctx, w, att.resp, st)
	g.settleTokens(st, att.resp.Status < 400)
	// A 2xx answer counts only once its body is through: a stream that
	// fails midway is a failure, one the client left is neither.
	g.settle(&att, result, st)
}

// readBody reads the whole body, in one allocation when its length is
// known.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength <= 0 {
		return io.ReadAll(r.Body)
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return nil, err
	}
	return body, nil
}

// outcome tells the breaker how the attempt went and classifies errors.
// A 2xx or 3xx answer is left to the caller, which reports it once the
// body is sent. A 4xx is never counted: the client's error (or, for 429,
// the upstream's backpressure) says nothing of the backend's health.
func (g *Gateway) outcome(ctx context.Context, backend string, resp *BackendResponse, err error, done func(error)) *BackendError {
	if err == nil {
		switch {
		case resp.Status >= 500:
			done(errFailed)
			g.metrics.backendError(backend, FailUpstream)
		case resp.Status == http.StatusTooManyRequests:
			done(errNotCounted)
			g.metrics.backendError(backend, FailThrottle)
		case resp.Status >= 400:
			done(errNotCounted)
		}
		return nil
	}
	var be *BackendError
	if !errors.As(err, &be) {
		if ctx.Err() != nil {
			be = classifyContext(ctx, err)
		} else {
			be = &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway, Err: err}
		}
	}
	switch be.Kind {
	case FailCanceled, FailThrottle:
		done(errNotCounted)
	default:
		done(errFailed)
	}
	g.metrics.backendError(backend, be.Kind)
	return be
}

// backoff waits before retry number attempt+1: full jitter over
// base*2^attempt (capped), or the upstream's Retry-After when longer. It
// reports false when the wait would pass the deadline or ctx ends.
func (g *Gateway) backoff(ctx context.Context, attempt int, retryAfter time.Duration) bool {
	c := g.cfg.Retry
	ceil := min(float64(c.Cap), float64(c.Base)*math.Pow(2, float64(attempt)))
	d := max(time.Duration(g.jitter()*ceil), retryAfter)
	if dl, ok := ctx.Deadline(); ok && g.now().Add(d).After(dl) {
		return false
	}
	return g.sleep(ctx, d) == nil
}

func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	rc.Close()
}

func (g *Gateway) writeBackendError(w http.ResponseWriter, r *http.Request, requestID string, be *BackendError) {
	g.log.LogAttrs(r.Context(), slog.LevelWarn, "backend failure", slog.String("request_id", requestID),
		slog.String("kind", be.Kind), slog.Int("status", be.Status), slog.String("error", be.Err.Error()))
	if be.Kind == FailCanceled {
		return // nobody is listening
	}
	if be.RetryAfter > 0 || be.Kind == FailThrottle {
		// A throttle without a hint still tells the client to back off.
		w.Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(be.RetryAfter))))
	}
	typ, code, msg := errServer, "backend_error", "the model backend failed"
	switch be.Kind {
	case SpillBreakerOpen:
		code, msg = "backend_unavailable", "the model backend is unavailable (circuit open); retry later"
	case SpillNoFreeSlot, SpillQueueWait:
		code, msg = "backend_at_capacity", "the model's backends are at capacity; retry later"
	case FailTimeout:
		code, msg = "backend_timeout", "the model backend did not answer in time"
	case FailThrottle:
		typ, code, msg = errRateLimit, "backend_throttled", "the model backend is at capacity; retry later"
	case FailConnect:
		code, msg = "backend_unreachable", "the model backend could not be reached"
	}
	writeError(w, be.Status, typ, msg, "", code)
}

// hopHeader tells the headers not passed from the upstream's response
// (the gateway sets its own request id and backend).
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Authenticate",
		"Content-Length", RequestIDHeader, BackendHeader:
		return true
	}
	return false
}

// headerValue is h.Get(key) for a key in canonical form, which it does
// not canonicalise again.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// writeResponse copies the upstream's answer: SSE line by line, flushed
// at each event's end and whenever nothing more has arrived, anything
// else as one copy. It
// returns the answer's outcome for the breaker: nil when the body came
// through whole, errFailed when the upstream failed midway (the client of
// a stream is told with an SSE error event), errNotCounted when the
// client went away. Nothing is retried here: bytes have been sent.
func (g *Gateway) writeResponse(ctx context.Context, w http.ResponseWriter, resp *BackendResponse, st *requestState) error {
	h := w.Header()
	for k, v := range resp.Header {
		if !hopHeader(k) && (st.tok == nil || !strings.HasPrefix(k, "X-Ratelimit-")) {
			// With token limits the gateway's own x-ratelimit-* headers
			// describe the client's limits; the upstream's describe the
			// gateway's account.
			h[k] = v
		}
	}
	sse := strings.HasPrefix(headerValue(resp.Header, "Content-Type"), "text/event-stream")
	if sse {
		// Proxies must neither cache nor buffer a stream (nginx reads
		// X-Accel-Buffering).
		h["Cache-Control"] = noCache
		h["X-Accel-Buffering"] = accelNo
	} else if cl := headerValue(resp.Header, "Content-Length"); cl != "" {
		h.Set("Content-Length", cl)
	}
	w.WriteHeader(resp.Status)
	if !sse {
		rerr, werr := st.use.relay(w, resp.Body)
		if resp.Status < 400 {
			st.use.readBodyUsage()
		}
		st.use.release()
		if err := cmp.Or(werr, rerr); err != nil {
			g.log.Warn("copy response", "request_id", st.id, "error", err.Error())
			if werr == nil && ctx.Err() == nil {
				return errFailed // the upstream's body broke off
			}
			return errNotCounted
		}
		return nil
	}
	return g.copyStream(ctx, w, resp.Body, st)
}

var (
	noCache = []string{"no-cache"}
	accelNo = []string{"no"}
)

// copyStream copies an SSE body, each event flushed as it ends. A stream is whole when it ended after
// "data: [DONE]" at an event's end; one that breaks off, ends early or
// ends inside a line gets an "event: error" with an OpenAI error object
// (unless the upstream sent its own), and counts as a failure.
//
// The usage chunks are read (st.use) for metrics and token settlement,
// and the one the gateway asked for on the client's behalf is not passed
// on. The first data line passed on is the time to first token
// (st.llm.first).
func (g *Gateway) copyStream(ctx context.Context, w http.ResponseWriter, body io.Reader, st *requestState) error {
	requestID, tok := st.id, &st.use
	rc := http.NewResponseController(w)
	br := bufio.NewReaderSize(body, 16<<10)
	var finished, upstreamError, inEvent bool
	for {
		line, err := br.ReadSlice('\n')
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			if tok.streamLine(line) {
				continue
			}
			if _, werr := w.Write(line); werr != nil {
				return errNotCounted
			}
			if st.llm.first.IsZero() && bytes.HasPrefix(line, dataPrefix) && !isDone(line) {
				st.llm.first = g.now()
			}
			endOfEvent := len(line) <= 2 && (line[0] == '\n' || line[0] == '\r')
			switch {
			case endOfEvent:
				inEvent = false
			case isDone(line):
				finished, inEvent = true, true
			default:
				upstreamError = upstreamError || bytes.HasPrefix(line, eventError)
				inEvent = true
			}
			// Each event goes out when it ends, and anything else (a
			// ": keep-alive" comment, a long line) once nothing more has
			// arrived: nothing waits in the gateway.
			if endOfEvent || br.Buffered() == 0 {
				_ = rc.Flush()
			}
			continue
		}
		// The upstream's stream ended, or broke; a partial line is
		// dropped: half an event is worse than none.
		if err == io.EOF && len(line) == 0 && finished {
			if inEvent { // "data: [DONE]" without the blank line after it
				_, _ = w.Write([]byte("\n"))
			}
			_ = rc.Flush()
			return nil
		}
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return errNotCounted // the client went away
		}
		if !upstreamError {
			msg := "the model's stream ended before it finished"
			if err != io.EOF {
				msg = "the model's stream was interrupted"
				if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
					msg = "the model did not finish in time"
				}
			}
			if inEvent {
				_, _ = w.Write([]byte("\n"))
			}
			writeStreamError(w, msg)
		}
		_ = rc.Flush()
		g.log.Warn("stream interrupted", "request_id", requestID, "error", fmt.Sprint(err))
		return errFailed
	}
}

var (
	eventError = []byte("event: error")
	dataPrefix = []byte("data:")
)

// isDone tells the stream's last data line, "data: [DONE]".
func isDone(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	line, ok := bytes.CutPrefix(line, []byte("data:"))
	return ok && string(bytes.TrimLeft(line, " ")) == "[DONE]"
}

// writeStreamError sends an OpenAI error object as an SSE error event,
// which OpenAI's clients raise as an error.
func writeStreamError(w io.Writer, msg string) {
	body, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{apiError{Message: msg, Type: errServer, Code: ptr("backend_stream_error")}})
	_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", body)
}

func ptr[T any](v T) *T { return &v }
