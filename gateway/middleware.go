package gateway

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// SCFRequestIDHeader carries the id SCF gave the invocation into a web
// function's request. The gateway takes it as the request id when it is
// there, so that the gateway's logs, its answer's X-Request-Id and SCF's
// own logs of the invocation name a request the same way.
const SCFRequestIDHeader = "X-Scf-Request-Id"

// maxRequestIDLen bounds a client-supplied request id.
const maxRequestIDLen = 128

// requestID takes the request id from X-Scf-Request-Id (SCF's, in a web
// function), else from X-Request-Id (the client's, or API Gateway's
// requestContext.requestId, which the event adapter puts there), or makes
// one; it echoes the id in the response and keeps it in the request's
// state.
func (g *Gateway) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := headerValue(r.Header, SCFRequestIDHeader)
		if !validRequestID(id) {
			id = headerValue(r.Header, RequestIDHeader)
		}
		if !validRequestID(id) {
			id = g.newID()
		}
		st := requestStateFrom(r.Context())
		st.id = id
		st.setHeader(w.Header(), 0, RequestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}

func validRequestID(id string) bool { return id != "" && len(id) <= maxRequestIDLen && printable(id) }

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// newID is a prefix random per gateway plus a counter: unique and cheap.
func (g *Gateway) newID() string {
	n := g.idSeq.Add(1)
	return g.idPrefix + strconv.FormatUint(n, 36)
}

// accessLog logs one structured line per request and records the request
// metrics. It never logs headers or bodies (keys, prompts).
func (g *Gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := requestStateFrom(r.Context())
		st.start = g.now()
		sw := &st.resp
		sw.ResponseWriter = w
		next.ServeHTTP(sw, r)
		d := g.since(st.start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		if r.Context().Err() != nil && status < 400 && sw.bytes == 0 {
			status = statusClientClosed
		}
		route := routeName(st, r)
		var llm *llmSample
		var sample llmSample
		if st.llm.model != "" {
			sample = g.llmSample(st, status, d)
			llm = &sample
		}
		g.metrics.request(route, status, d, llm)
		var ttftMS float64
		var prompt, completion int
		if llm != nil {
			ttftMS = float64(llm.ttft) / float64(time.Millisecond)
			prompt, completion = llm.prompt, llm.completion
		}
		// The field set is the same for every request and every value is
		// a string or a number: SCF ships each JSON line to CLS as fields
		// (first level, strings and numbers only), which deploy/cls
		// indexes by these names (pinned by TestAccessLogFields). Model,
		// backend, token counts and TTFT are "" or 0 when the request had
		// none (not a chat completion, no backend answered, no usage in
		// the answer, no first token); spill_reason is why the policy's
		// first choice of backend did not serve it ("" when it did);
		// error_type and error_code are the
		// gateway's own error answer's (an upstream's error passed
		// through leaves them ""), limit_scope the bucket that refused a
		// 429.
		//
		// The record is made here rather than by LogAttrs, which would
		// read the clock again and look up its caller's PC on every
		// request: its time is the request's end on the clock that timed
		// it, and it has no source (the access log's would always be this
		// line).
		ctx := r.Context()
		if !g.log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		rec := slog.NewRecord(st.start.Add(d), slog.LevelInfo, "request", 0)
		rec.AddAttrs(
			slog.String("request_id", st.id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Int64("bytes", sw.bytes),
			slog.Float64("duration_ms", float64(d)/float64(time.Millisecond)),
			slog.String("key", st.key), slog.String("model", st.llm.model), slog.String("backend", st.llm.backend),
			slog.String("spill_reason", st.llm.spill),
			slog.Int("prompt_tokens", prompt), slog.Int("completion_tokens", completion),
			slog.Float64("ttft_ms", ttftMS),
			slog.String("error_type", sw.errType), slog.String("error_code", sw.errCode),
			slog.String("limit_scope", st.limitScope))
		_ = g.log.Handler().Handle(ctx, rec)
	})
}

// llmSample is what a chat completion adds to the GenAI metrics (see
// metrics.go for what each measure is).
func (g *Gateway) llmSample(st *requestState, status int, d time.Duration) llmSample {
	s := llmSample{group: st.llm.group, backend: st.llm.backend, stream: st.llm.stream, status: status,
		errType: st.llm.failure, duration: d}
	if st.use.seen {
		s.usage, s.prompt, s.completion = true, st.use.prompt, st.use.used.Output
	}
	if s.errType == "" && st.llm.backend != "" && status >= 400 {
		s.errType = strconv.Itoa(status) // the backend's error answer
	}
	if st.llm.backend == "" || status >= 300 {
		return s
	}
	switch {
	case !st.llm.stream:
		s.ttft = d
	case !st.llm.first.IsZero():
		s.ttft = max(st.llm.first.Sub(st.start), 1)
		if s.usage && s.completion > 1 {
			s.tpot = (d - s.ttft) / time.Duration(s.completion-1)
		}
	}
	return s
}

// routeNames are the metrics' route labels, by chi pattern.
var routeNames = map[string]string{"/v1/chat/completions": "chat", "/v1/models": "models", "/v1/models/*": "model", "/healthz": "healthz",
	"/readyz": "readyz", "/metrics": "metrics"}

// routeName names the request's route once it is served: the fast path's
// pattern, else chi's. Unknown paths are "other", so that labels stay few.
func routeName(st *requestState, r *http.Request) string {
	pattern := st.route
	if pattern == "" {
		if rc := chi.RouteContext(r.Context()); rc != nil {
			pattern = rc.RoutePattern()
		}
	}
	if name, ok := routeNames[pattern]; ok {
		return name
	}
	return "other"
}

// bodyLimit refuses bodies above the limit: at once from Content-Length,
// and while reading otherwise (the handler answers 413).
func (g *Gateway) bodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > g.cfg.BodyLimit {
			writeTooLarge(w, g.cfg.BodyLimit)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, g.cfg.BodyLimit)
		next.ServeHTTP(w, r)
	})
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	writeError(w, http.StatusRequestEntityTooLarge, errInvalidRequest,
		"request body is larger than "+strconv.FormatInt(limit, 10)+" bytes", "", "request_too_large")
}

// shape takes a token from the global bucket and the key's bucket; it
// waits up to max_wait for one, else answers 429 with Retry-After and the
// RateLimit-* headers. With token limits, a chat completion's buckets
// are left to the chat handler, which reserves the request and its
// tokens in one decision once it has read the body (admitTokens).
func (g *Gateway) shape(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.tokens && r.Method == http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		st := requestStateFrom(r.Context())
		key, bucket := st.key, g.cfg.Limits.PerKey
		if key != "" {
			bucket = st.bucket
		}
		now := st.start
		if now.IsZero() {
			now = g.now()
		}
		d := g.limiter.Reserve(now, key, bucket, g.cfg.Limits.MaxWait)
		if g.applyDecision(w, r, st, d) {
			next.ServeHTTP(w, r)
		}
	})
}

// applyDecision sets the headers of d and answers a refusal (429, or 503
// when the limiter could not decide) or waits an allowed request's
// delay. It tells whether the request goes on.
func (g *Gateway) applyDecision(w http.ResponseWriter, r *http.Request, st *requestState, d Decision) bool {
	if d.Limit > 0 {
		// The three numbers in one string; keys in canonical form, set
		// directly: Set would canonicalise (and allocate) on every
		// request.
		var buf [3 * 20]byte
		b := strconv.AppendInt(buf[:0], int64(d.Limit), 10)
		i := len(b)
		b = strconv.AppendInt(b, int64(d.Remaining), 10)
		j := len(b)
		b = strconv.AppendInt(b, int64(ceilSeconds(d.Reset)), 10)
		v := string(b)
		h := w.Header()
		st.setHeader(h, 1, "Ratelimit-Limit", v[:i])
		st.setHeader(h, 2, "Ratelimit-Remaining", v[i:j])
		st.setHeader(h, 3, "Ratelimit-Reset", v[j:])
	}
	if !d.Allowed && d.Unavailable {
		writeLimiterUnavailable(w, d)
		return false
	}
	if d.Tokens.Limit > 0 || !d.Allowed {
		setOpenAIHeaders(w.Header(), d)
	}
	if !d.Allowed {
		st.limitScope = d.Scope
		g.metrics.shapedBy(d.Scope)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.RetryAfter))))
		writeError(w, http.StatusTooManyRequests, errRateLimit, refusalMessage(d), "", "rate_limit_exceeded")
		return false
	}
	if d.Delay > 0 {
		g.metrics.queue(st.key, 1)
		err := g.sleep(r.Context(), d.Delay)
		g.metrics.queue(st.key, -1)
		if err != nil {
			return false // the client went away while waiting
		}
	}
	return true
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
