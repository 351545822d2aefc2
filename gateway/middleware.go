package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// reqInfo is what the middleware learns about a request, shared through
// the context as one pointer.
type reqInfo struct {
	id  string
	key string // the API key's name; "" when anonymous
}

type infoKey struct{}

func (infoKey) String() string { return "gateway request info" }

func infoFrom(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client-supplied request id.
const maxRequestIDLen = 128

// requestID takes the request id from X-Request-Id (the event adapter puts
// API Gateway's requestContext.requestId there) or makes one, echoes it
// in the response and stores it in the context.
func (g *Gateway) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if id == "" || len(id) > maxRequestIDLen || !printable(id) {
			id = g.newID()
		}
		w.Header().Set(RequestIDHeader, id)
		ri := &reqInfo{id: id}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
	})
}

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

// statusWriter records the status and size of a response for the access
// log; Flush and Unwrap keep streaming working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
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

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog logs one structured line per request and records the request
// metrics. It never logs headers or bodies (keys, prompts).
func (g *Gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := g.now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		d := g.now().Sub(start)
		ri := infoFrom(r.Context())
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		if r.Context().Err() != nil && status < 400 && sw.bytes == 0 {
			status = statusClientClosed
		}
		route := routeName(r)
		g.metrics.request(route, status, d)
		g.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", ri.id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Int64("bytes", sw.bytes), slog.Duration("duration", d),
			slog.String("key", ri.key))
	})
}

// routeNames are the metrics' route labels, by chi pattern.
var routeNames = map[string]string{"/v1/chat/completions": "chat", "/v1/models": "models", "/healthz": "healthz",
	"/readyz": "readyz", "/metrics": "metrics"}

// routeName names the request's route once chi has routed it; unknown
// paths are "other", so that labels stay few.
func routeName(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if name, ok := routeNames[rc.RoutePattern()]; ok {
			return name
		}
	}
	return "other"
}

// apiKey is a configured key, its hash decoded.
type apiKey struct {
	name   string
	hash   [sha256.Size]byte
	bucket Bucket
}

func decodeKeys(keys []Key, perKey Bucket) []apiKey {
	out := make([]apiKey, 0, len(keys))
	for _, k := range keys {
		ak := apiKey{name: k.Name, bucket: perKey}
		h, _ := hex.DecodeString(k.SHA256) // validated
		copy(ak.hash[:], h)
		if k.QPS > 0 {
			ak.bucket = Bucket{QPS: k.QPS, Burst: k.Burst}
		}
		out = append(out, ak)
	}
	return out
}

// auth checks "Authorization: Bearer <key>" against the configured
// hashes. Every hash is compared, in constant time, so the time taken
// tells nothing about which key was close. With no keys configured every
// request passes as anonymous.
func (g *Gateway) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(g.keys) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			writeError(w, http.StatusUnauthorized, errAuthentication,
				"missing API key: send it as 'Authorization: Bearer <key>'", "", "missing_api_key")
			return
		}
		sum := sha256.Sum256([]byte(token))
		match := -1
		for i := range g.keys {
			if subtle.ConstantTimeCompare(sum[:], g.keys[i].hash[:]) == 1 {
				match = i
			}
		}
		if match < 0 {
			writeError(w, http.StatusUnauthorized, errAuthentication, "incorrect API key provided", "", "invalid_api_key")
			return
		}
		infoFrom(r.Context()).key = g.keys[match].name
		next.ServeHTTP(w, r)
	})
}

func bearer(h string) (string, bool) {
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	t := strings.TrimSpace(h[len(prefix):])
	return t, t != ""
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
// RateLimit-* headers.
func (g *Gateway) shape(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := infoFrom(r.Context())
		key, bucket := ri.key, g.cfg.Limits.PerKey
		if key != "" {
			bucket = g.keyBucket[key]
		}
		d := g.limiter.Reserve(g.now(), key, bucket, g.cfg.Limits.MaxWait)
		if d.Limit > 0 {
			h := w.Header()
			// Keys in canonical form, set directly: Set would canonicalise
			// (and allocate) on every request.
			h["Ratelimit-Limit"] = []string{strconv.Itoa(d.Limit)}
			h["Ratelimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
			h["Ratelimit-Reset"] = []string{strconv.Itoa(ceilSeconds(d.Reset))}
		}
		if !d.Allowed {
			g.metrics.shapedBy(d.Scope)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.RetryAfter))))
			msg := "rate limit reached for this gateway; retry later"
			if d.Scope == "key" {
				msg = "rate limit reached for this API key; retry later"
			}
			writeError(w, http.StatusTooManyRequests, errRateLimit, msg, "", "rate_limit_exceeded")
			return
		}
		if d.Delay > 0 {
			if err := g.sleep(r.Context(), d.Delay); err != nil {
				return // the client went away while waiting
			}
		}
		next.ServeHTTP(w, r)
	})
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
