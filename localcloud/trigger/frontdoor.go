package trigger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/scfevent"
)

// Route kinds.
const (
	KindAPIGateway  = "apigw" // API Gateway trigger of an event function
	KindFunctionURL = "http"  // Function URL of an event function
	KindWeb         = "web"   // web (HTTP-type) function
)

// DefaultMaxBodyBytes is SCF's limit on a synchronous request (6 MB).
const DefaultMaxBodyBytes = 6 << 20

// DefaultStage is API Gateway's default release environment.
const DefaultStage = "release"

// DefaultEndpointTimeout is API Gateway's default backend timeout, sent as
// the endpoint-timeout header.
const DefaultEndpointTimeout = 15 * time.Second

// Invoker runs an event function synchronously. *runtime.Host implements it.
type Invoker interface {
	Invoke(ctx context.Context, inv runtime.Invocation) (*runtime.Result, error)
}

// WebForwarder proxies a request to an instance of a web function and
// streams the response back. *runtime.Host implements it.
type WebForwarder interface {
	ServeWeb(w http.ResponseWriter, r *http.Request, namespace, function, qualifier string)
}

// Route mounts one HTTP-triggered function on the front door.
type Route struct {
	Kind      string // KindAPIGateway, KindFunctionURL or KindWeb
	Namespace string // "" means "default"
	Function  string
	Qualifier string // version or alias; "" means $LATEST
	// Stage is API Gateway's environment in requestContext.stage; "" means
	// "release". Only for KindAPIGateway.
	Stage string
	// PathPrefix is where the route is mounted, e.g. "/echo"; "" or "/"
	// makes it the default route.
	PathPrefix string
	// Integrated says the API Gateway integration response is on: the
	// payload is parsed as {"statusCode",...}. Off, it is sent as the body.
	// Only for KindAPIGateway: Function URLs always parse the payload.
	Integrated bool
	// AuthType is the Function URL's authentication: AuthNone ("" too)
	// serves anyone, AuthCAM only requests signed with a known credential.
	// Not for KindAPIGateway.
	AuthType string
}

// Function URL authentication types (the trigger's AuthType).
const (
	AuthNone = tencentcloud.AuthTypeNone
	AuthCAM  = tencentcloud.AuthTypeCAM
)

// Options tunes a FrontDoor. The zero value is ready to use.
type Options struct {
	// MaxBodyBytes is the largest request body accepted; 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// EndpointTimeout is sent as API Gateway's endpoint-timeout header;
	// 0 means DefaultEndpointTimeout. It is not enforced.
	EndpointTimeout time.Duration
	// Now times requests for the log; nil means time.Now.
	Now func() time.Time
	// RequestID makes request ids; nil means runtime.NewRequestID.
	RequestID func() string
	// Credentials are those a CAM-authenticated Function URL accepts
	// signatures of (localcloud: its API keys and the role credentials it
	// hands functions). Required when a route has AuthType AuthCAM.
	Credentials []tc3.Credential
}

// FrontDoor serves HTTP-triggered functions; see the package documentation.
type FrontDoor struct {
	mounts    []*mount // longest prefix first; the default route, if any, last
	inv       Invoker
	web       WebForwarder
	logger    *slog.Logger
	maxBody   int64
	now       func() time.Time
	requestID func() string
	creds     []tc3.Credential
}

// mount is a validated Route with what its events need precomputed.
type mount struct {
	Route
	prefix string                     // normalised: "" or "/a/b" without trailing slash
	apigw  scfevent.APIGatewayTrigger // for KindAPIGateway
}

// New validates the routes and returns the front door. inv is needed when
// a route is an event function, web when one is a web function. A nil
// logger discards.
func New(routes []Route, inv Invoker, web WebForwarder, logger *slog.Logger, opts Options) (*FrontDoor, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	fd := &FrontDoor{inv: inv, web: web, logger: logger, maxBody: opts.MaxBodyBytes, now: opts.Now, requestID: opts.RequestID,
		creds: slices.Clone(opts.Credentials)}
	if fd.maxBody <= 0 {
		fd.maxBody = DefaultMaxBodyBytes
	}
	if fd.now == nil {
		fd.now = time.Now
	}
	if fd.requestID == nil {
		fd.requestID = runtime.NewRequestID
	}
	timeout := opts.EndpointTimeout
	if timeout <= 0 {
		timeout = DefaultEndpointTimeout
	}
	seen := map[string]string{}
	for _, r := range routes {
		m, err := newMount(r, timeout)
		if err != nil {
			return nil, err
		}
		if other, dup := seen[m.prefix]; dup {
			return nil, fmt.Errorf("trigger: functions %s and %s are both mounted at %q", other, r.Function, m.prefix+"/")
		}
		seen[m.prefix] = r.Function
		switch {
		case r.Kind == KindWeb && web == nil:
			return nil, fmt.Errorf("trigger: route %q of web function %s needs a WebForwarder", m.prefix+"/", r.Function)
		case r.Kind != KindWeb && inv == nil:
			return nil, fmt.Errorf("trigger: route %q of function %s needs an Invoker", m.prefix+"/", r.Function)
		case r.AuthType == AuthCAM && len(opts.Credentials) == 0:
			return nil, fmt.Errorf("trigger: route %q of function %s uses CAM authentication but no credentials are known (Options.Credentials)", m.prefix+"/", r.Function)
		}
		fd.mounts = append(fd.mounts, m)
	}
	// Longest prefix first makes the first match the most specific one, and
	// puts the default route ("") last.
	sort.Slice(fd.mounts, func(i, j int) bool { return len(fd.mounts[i].prefix) > len(fd.mounts[j].prefix) })
	return fd, nil
}

func newMount(r Route, timeout time.Duration) (*mount, error) {
	switch r.Kind {
	case KindAPIGateway, KindFunctionURL, KindWeb:
	default:
		return nil, fmt.Errorf("trigger: route of function %s: unknown kind %q (want %q, %q or %q)", r.Function, r.Kind, KindAPIGateway, KindFunctionURL, KindWeb)
	}
	if r.Function == "" {
		return nil, fmt.Errorf("trigger: %s route at %q has no function", r.Kind, r.PathPrefix)
	}
	prefix := strings.TrimRight(r.PathPrefix, "/")
	if prefix != "" && (!strings.HasPrefix(prefix, "/") || path.Clean(prefix) != prefix || strings.ContainsAny(prefix, "?#")) {
		return nil, fmt.Errorf("trigger: route of function %s: path prefix %q must be a clean absolute path such as /name", r.Function, r.PathPrefix)
	}
	switch r.AuthType {
	case "", AuthNone:
	case AuthCAM:
		if r.Kind == KindAPIGateway {
			return nil, fmt.Errorf("trigger: API Gateway route of function %s: AuthType %s is for Function URLs", r.Function, AuthCAM)
		}
	default:
		return nil, fmt.Errorf("trigger: route of function %s: unknown AuthType %q (want %q or %q)", r.Function, r.AuthType, AuthNone, AuthCAM)
	}
	if r.Stage == "" {
		r.Stage = DefaultStage
	}
	q := r.Qualifier
	if q == "" {
		q = runtime.LatestVersion
	}
	return &mount{Route: r, prefix: prefix, apigw: scfevent.APIGatewayTrigger{ServiceID: localServiceID,
		APIPath: localAPIPath, APIMethod: localAPIMethod, Stage: r.Stage, Qualifier: q, EndpointTimeout: timeout}}, nil
}

// match returns the route serving urlPath and the path the function sees.
func (fd *FrontDoor) match(urlPath string) (*mount, string) {
	for _, m := range fd.mounts {
		if rest, ok := cutMount(urlPath, m.prefix); ok {
			return m, rest
		}
	}
	return nil, ""
}

// cutMount strips prefix from p if p is prefix itself or continues it with
// "/"; the rest is never empty ("/" at least).
func cutMount(p, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	if rest == "" {
		rest = "/"
	}
	return rest, true
}

// ServeHTTP routes the request to its function.
func (fd *FrontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := fd.requestID()
	w.Header().Set("X-Request-Id", requestID)
	m, fnPath := fd.match(r.URL.Path)
	if m == nil {
		fd.logger.Info("no route", "request_id", requestID, "method", r.Method, "path", r.URL.Path)
		writeJSON(w, http.StatusNotFound, runtime.SCFErrorBody{ErrorCode: http.StatusNotFound,
			ErrorMessage: fmt.Sprintf("no function is served at %s", r.URL.Path), RequestID: requestID})
		return
	}
	log := fd.logger.With("request_id", requestID, "function", m.Function, "kind", m.Kind)
	if r.ContentLength > fd.maxBody {
		fd.refuseTooLarge(w, log, requestID)
		return
	}
	if m.AuthType == AuthCAM && !fd.authenticate(w, r, log, requestID) {
		return
	}
	if m.Kind == KindWeb {
		fd.serveWeb(w, r, m, fnPath, requestID, log)
		return
	}
	fd.serveEvent(w, r, m, fnPath, requestID, log)
}

func (fd *FrontDoor) refuseTooLarge(w http.ResponseWriter, log *slog.Logger, requestID string) {
	log.Warn("request body too large", "limit_bytes", fd.maxBody)
	status, body := errorResponse(&runtime.Error{Status: runtime.StatusRequestTooLarge, Code: "RequestTooLarge",
		Message: fmt.Sprintf("request body is over the %d-byte limit of synchronous invocations", fd.maxBody)}, requestID)
	writeJSON(w, status, body)
}

func (fd *FrontDoor) serveEvent(w http.ResponseWriter, r *http.Request, m *mount, fnPath, requestID string, log *slog.Logger) {
	begin := fd.now()
	body, err := readBody(w, r, fd.maxBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			fd.refuseTooLarge(w, log, requestID)
			return
		}
		log.Info("reading request body", "error", err)
		writeJSON(w, http.StatusBadRequest, runtime.SCFErrorBody{ErrorCode: http.StatusBadRequest,
			ErrorMessage: fmt.Sprintf("reading request body: %v", err), RequestID: requestID})
		return
	}
	event, err := buildEvent(m, r, fnPath, body, requestID)
	if err != nil { // the event holds only strings; this is a bug
		log.Error("building event", "error", err)
		writeJSON(w, http.StatusInternalServerError, runtime.SCFErrorBody{ErrorCode: http.StatusInternalServerError,
			ErrorMessage: err.Error(), RequestID: requestID})
		return
	}
	res, err := fd.inv.Invoke(r.Context(), runtime.Invocation{Namespace: m.Namespace, Function: m.Function,
		Qualifier: m.Qualifier, Event: event, RequestID: requestID})
	if err == nil && res == nil { // an Invoker breaking its contract: answer as for no payload
		res = &runtime.Result{}
	}
	if err == nil && res.FunctionError != nil {
		err = res.FunctionError
	}
	var resp *scfevent.HTTPResponse
	switch {
	case err != nil:
		status, body := errorResponse(err, requestID)
		log.Info("invocation failed", "status", status, "error", err)
		resp = scfevent.JSONResponse(status, body)
	case m.Kind == KindAPIGateway && !m.Integrated:
		resp = passThrough(res.Payload)
	default:
		var perr error
		if resp, perr = scfevent.ParseResponse(res.Payload); perr != nil {
			log.Warn("invalid integration response", "error", perr)
			resp = invalidResponse(requestID)
		}
	}
	resp.Write(w)
	log.Info("request served", "method", r.Method, "path", fnPath, "status", resp.StatusCode,
		"duration_ms", fd.now().Sub(begin).Milliseconds())
}

// readBody reads at most limit bytes; more is a *http.MaxBytesError.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 { // already checked against limit
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

// serveWeb hands the request to the web function with the original
// ResponseWriter, so that flushes reach the client at once.
func (fd *FrontDoor) serveWeb(w http.ResponseWriter, r *http.Request, m *mount, fnPath, requestID string, log *slog.Logger) {
	begin := fd.now()
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = stripURL(r.URL, m.prefix, fnPath)
	r2.RequestURI = r2.URL.RequestURI()
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = http.Header{}
	}
	r2.Header.Set("X-Scf-Request-Id", requestID)
	if r.Body != nil && r.Body != http.NoBody {
		r2.Body = http.MaxBytesReader(w, r.Body, fd.maxBody)
	}
	fd.web.ServeWeb(&requestIDWriter{ResponseWriter: w, id: requestID}, r2, m.Namespace, m.Function, m.Qualifier)
	log.Info("request forwarded", "method", r.Method, "path", fnPath, "duration_ms", fd.now().Sub(begin).Milliseconds())
}

// stripURL returns a copy of u whose path is fnPath (u.Path without the
// mount prefix). The escaped form loses the prefix too when it starts with
// it; otherwise it is dropped and derived again from the path.
func stripURL(u *url.URL, prefix, fnPath string) *url.URL {
	u2 := *u
	u2.Path = fnPath
	if u.RawPath != "" {
		if raw, ok := cutMount(u.RawPath, prefix); ok {
			u2.RawPath = raw
		} else {
			u2.RawPath = ""
		}
	}
	return &u2
}

func writeJSON(w http.ResponseWriter, status int, v any) { scfevent.JSONResponse(status, v).Write(w) }

// requestIDWriter keeps the front door's X-Request-Id the only one in a web
// function's answer: the function's own, copied in with its other headers,
// is dropped when the head is written, as it is for event functions.
type requestIDWriter struct {
	http.ResponseWriter
	id    string
	wrote bool
}

func (w *requestIDWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		w.Header()["X-Request-Id"] = []string{w.id}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *requestIDWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets server-sent events through: the forwarder flushes after
// every write.
func (w *requestIDWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *requestIDWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
