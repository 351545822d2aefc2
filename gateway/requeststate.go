package gateway

import (
	"context"
	"net/http"
	"time"
)

// requestState is everything the gateway learns about one request while
// serving it. ServeHTTP makes one per request and puts it in the
// request's context under requestStateKey (see servedRequest); the
// middleware, the chat handler and the access log reach it with
// requestStateFrom, whatever ResponseWriter wrappers or Request copies
// stand between them. It also
// holds the request's other small per-request parts (the status-capturing
// writer, header values, the backend request and its deadline) so that
// they come in the same allocation.
type requestState struct {
	id     string // the request id, set by requestID
	key    string // the API key's name, set by auth; "" when anonymous
	bucket Bucket // the API key's bucket, set by auth with key
	// keyTokens is the API key's token limit, set by auth with key.
	keyTokens TokenLimit
	route     string    // the route's pattern when the fast path serves it; "" means ask chi
	start     time.Time // when the request came in: the clock is read once for access log and shaping

	// limitScope is the bucket that refused the request with 429
	// (Decision.Scope), for the access log; "" otherwise.
	limitScope string

	// resp is the writer accessLog hands down; it records status and
	// size for the access log.
	resp statusWriter
	// vals backs the values of X-Request-Id and the RateLimit-* headers.
	vals [4]string
	// breq and deadline are the backend call's request and context.
	breq     BackendRequest
	deadline lazyDeadline
	// use is the answer's usage, read for metrics and token limits.
	use tokenUse
	// tok is &use when token limits reserved tokens for the request
	// (settleTokens gives them back and sets it to nil); nil without
	// token limits.
	tok *tokenUse
	// llm is what the usage metrics and the access log say of a chat
	// completion.
	llm llmObs
}

// llmObs is a chat completion's model, backend and timing.
type llmObs struct {
	model   string // the requested model, once it is known
	backend string // the backend that answered; "" when none did
	spill   string // why the first backend tried did not serve it; "" when it did
	stream  bool   // the client asked for a stream
	// failure is the kind of a failure the status does not tell: no
	// backend answered (BackendError.Kind), or its answer broke off
	// midway (FailUpstream); "" otherwise.
	failure string
	group   *llmGroup // its metrics, once it is admitted (in flight until the access log)
	first   time.Time // when the first chunk went to the client; zero before
}

// requestStateKey is the context key of a request's *requestState.
type requestStateKey struct{}

// requestStateFrom returns the state ServeHTTP put in ctx, or nil when
// ctx did not come through Gateway.ServeHTTP (a bug: every handler of the
// gateway is reached only through it).
func requestStateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	return st
}

// servedRequest is one request being served, in a single allocation: its
// state, the request the handlers see, and that request's context, which
// is the caller's with the state under requestStateKey, as
// context.WithValue(r.Context(), requestStateKey{}, &state) would make it.
// Three allocations made one: BenchmarkMiddlewareChain tells the
// difference.
type servedRequest struct {
	context.Context // the caller's
	state           requestState
	req             http.Request
}

// Value is the state for requestStateKey, the caller's context's value
// for any other key.
func (sr *servedRequest) Value(key any) any {
	if key == (requestStateKey{}) {
		return &sr.state
	}
	return sr.Context.Value(key)
}

// setHeader sets h[key] (key in canonical form) to v, with the slice
// held in st: Header.Set would canonicalise and allocate.
func (st *requestState) setHeader(h http.Header, i int, key, v string) {
	st.vals[i] = v
	h[key] = st.vals[i : i+1 : i+1]
}

// statusWriter records the status and size of a response for the access
// log, and the error type and code when the gateway answered with its own
// error (writeError). It holds nothing else: request state lives in the
// context. Unwrap and FlushError let http.ResponseController (and so
// streaming) reach the writers it wraps.
type statusWriter struct {
	http.ResponseWriter
	status           int
	bytes            int64
	errType, errCode string
}

// noteError records the gateway's error answer in the statusWriter that
// w is or wraps, if any: writeError reaches it through whatever writers
// the handlers put on top.
func noteError(w http.ResponseWriter, typ, code string) {
	for {
		if sw, ok := w.(*statusWriter); ok {
			sw.errType, sw.errCode = typ, code
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

// FlushError flushes the wrapped writer, through its own Unwrap chain if
// it has one; it reports http.ErrNotSupported when nothing below can
// flush.
func (s *statusWriter) FlushError() error {
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Flush implements http.Flusher for callers that do not use
// http.ResponseController.
func (s *statusWriter) Flush() { _ = s.FlushError() }

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
