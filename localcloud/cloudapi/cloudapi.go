// Package cloudapi is localcloud's Tencent Cloud API 3.0 endpoint: an
// http.Handler that the official SDKs (common.NewCommonClient, scf.NewClient,
// monitor.NewClient, … with HttpProfile.Endpoint = "host:port" and
// Scheme = "HTTP") cannot tell from the real one. Products register their
// actions with Handle; the server does signing, routing, parameter
// decoding and the response envelope.
//
// Every request, including failures, is answered with HTTP 200 and
// Content-Type application/json:
//
//	{"Response":{…the handler's fields…,"RequestId":"<uuid>"}}
//	{"Response":{"Error":{"Code":"…","Message":"…"},"RequestId":"<uuid>"}}
//
// The SDK turns the second form into *errors.TencentCloudSDKError (a non-200
// status would instead become ClientError.HttpStatusCodeError).
//
// A request is checked in this order, the first failure answering:
//
//  1. method other than GET or POST: UnsupportedProtocol;
//  2. body larger than Config.MaxBodyBytes: RequestSizeLimitExceeded;
//  3. the TC3-HMAC-SHA256 signature (package tc3): AuthFailure.* codes,
//     MissingParameter/InvalidParameter for X-TC-Timestamp;
//  4. the credential scope's service has no actions: NoSuchProduct;
//  5. X-TC-Action or X-TC-Version missing: MissingParameter;
//  6. version not registered for the service: NoSuchVersion;
//  7. action not registered for that version: InvalidAction;
//  8. POST Content-Type not application/json, body not a JSON object, or a
//     malformed GET query: InvalidParameter;
//  9. the handler: its *Error as is; any other error, or a panic,
//     InternalError with a generic message (the detail is logged).
//
// Request.Decode then applies Tencent's parameter checks (UnknownParameter,
// InvalidParameter, InvalidParameterValue; see Decode).
//
// Every request is logged once (request id, method, service, version,
// action, region, SecretId, code, duration). Keys, tokens, signatures and
// parameters are never logged.
//
// Emulation assumptions, where Tencent's documentation is silent:
//
//   - The product is the credential scope's service: the real API takes it
//     from the host name (scf.tencentcloudapi.com), but a local endpoint
//     serves every product on one host:port. When the scope names no
//     registered product, the product is the one registered service whose
//     X-TC-Version has the X-TC-Action: the Node.js SDK takes the scope's
//     service from the endpoint's first label ("127" for 127.0.0.1:9090).
//     Otherwise an unregistered service is NoSuchProduct rather than
//     InvalidAction.
//   - Missing X-TC-Action or X-TC-Version is MissingParameter naming
//     Action or Version (both are required common parameters).
//   - A malformed JSON body is InvalidParameter, whose documented meaning is
//     "parameter error, including format and type errors".
//   - POST accepts only application/json (the SDK's TC3 form). Multipart and
//     application/octet-stream uploads, and the legacy HmacSHA1/HmacSHA256
//     signatures with a Signature parameter, are not supported. An empty
//     POST body means no parameters.
//   - GET parameters are read from the query string: dotted names nest and
//     index runs become arrays ("Instances.0.Dimensions.0.Name"), values
//     are converted by the handler's destination types in Decode. The common
//     parameters the SDK strips from a signed query (Action, Version,
//     Region, Timestamp, Nonce, RequestClient) are ignored if present; a
//     parameter given twice is InvalidParameter. A POST's query string is
//     signed but not read.
//   - Parameter names are case-sensitive.
//   - Messages are English whatever X-TC-Language says (clients branch on
//     codes, not messages), and they are Tencent-like, not byte-identical.
//   - X-TC-Region is passed to handlers unchecked; the server never sends
//     RequestLimitExceeded (handlers may).
//   - A body over the limit is still read and discarded, up to 64 MiB more,
//     so the client reads the error instead of a reset connection; the
//     connection is then closed.
//   - A RequestId field in a handler's result is replaced by the server's.
package cloudapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
)

// DefaultMaxBodyBytes is Tencent's 10 MiB limit on API 3.0 request bodies;
// it leaves room for InvokeFunction's 6 MB events.
const DefaultMaxBodyBytes = 10 << 20

// drainLimit bounds how much of an oversized body is read and discarded.
const drainLimit = 64 << 20

// Credential is an API key the server accepts. Token is set for temporary
// (STS-style) credentials; requests signed with them must send it in
// X-TC-Token.
type Credential struct{ SecretID, SecretKey, Token string }

// String shows the SecretId only, so that a credential printed by mistake
// does not leak its key.
func (c Credential) String() string {
	return fmt.Sprintf("Credential{SecretID: %q, SecretKey: <redacted>, Token: %s}", c.SecretID, redacted(c.Token))
}

// GoString is String, for %#v.
func (c Credential) GoString() string { return c.String() }

// LogValue logs the SecretId and whether there is a token, never the key.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret_id", c.SecretID), slog.Bool("has_token", c.Token != ""))
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "<redacted>"
}

// Config configures a Server.
type Config struct {
	Credentials []Credential
	Now         func() time.Time // nil = time.Now; used for signature expiry
	Logger      *slog.Logger     // nil = discard
	// MaxBodyBytes caps request bodies; 0 = DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// NewRequestID makes RequestIds; nil = random UUID v4 (tests inject
	// deterministic ones).
	NewRequestID func() string
	// Intercept, when set, sees every signed request to a known action
	// before its handler; an error it returns is the answer instead, as a
	// handler's would be (localcloud's fault injection).
	Intercept func(req *Request) error
}

// Handler serves one action. Its result is marshalled as a JSON object (a
// struct with json tags, a map, or nil for no fields) whose fields go into
// Response next to RequestId. Errors that are, or wrap, *Error are answered
// with their code; other errors and panics answer InternalError.
type Handler func(ctx context.Context, req *Request) (any, error)

// Server is the API endpoint; it implements http.Handler.
type Server struct {
	now     func() time.Time
	logger  *slog.Logger
	maxBody int64
	newID   func() string
	hook    func(req *Request) error

	mu     sync.RWMutex
	creds  map[string]Credential
	routes map[string]map[string]map[string]Handler // service → version → action
}

// New returns a Server accepting cfg.Credentials. A later credential with
// the same SecretID replaces an earlier one.
func New(cfg Config) *Server {
	s := &Server{
		now:     cfg.Now,
		logger:  cfg.Logger,
		maxBody: cfg.MaxBodyBytes,
		newID:   cfg.NewRequestID,
		hook:    cfg.Intercept,
		creds:   map[string]Credential{},
		routes:  map[string]map[string]map[string]Handler{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.newID == nil {
		s.newID = newUUID
	}
	for _, c := range cfg.Credentials {
		s.AddCredential(c)
	}
	return s
}

// AddCredential accepts c from now on, replacing any credential with the
// same SecretID (localcloud can mint temporary credentials for functions).
// A credential without a SecretID is ignored.
func (s *Server) AddCredential(c Credential) {
	if c.SecretID == "" {
		s.logger.Warn("cloudapi: ignoring a credential without SecretID")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds[c.SecretID] = c
}

// RemoveCredential stops accepting secretID.
func (s *Server) RemoveCredential(secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.creds, secretID)
}

// Handle registers h for an action of a service's API version, e.g.
// Handle("scf", "2018-04-16", "GetFunction", h). The service is the
// credential scope's service. Registering an action again replaces it.
// It panics on empty names or a nil handler, which are programming errors.
func (s *Server) Handle(service, version, action string, h Handler) {
	if service == "" || version == "" || action == "" || h == nil {
		panic(fmt.Sprintf("cloudapi: Handle(%q, %q, %q): empty name or nil handler", service, version, action))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.routes[service]
	if versions == nil {
		versions = map[string]map[string]Handler{}
		s.routes[service] = versions
	}
	actions := versions[version]
	if actions == nil {
		actions = map[string]Handler{}
		versions[version] = actions
	}
	actions[action] = h
}

// ServeHTTP answers one API request; see the package comment.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req := &Request{
		Action:    r.Header.Get("X-TC-Action"),
		Version:   r.Header.Get("X-TC-Version"),
		Region:    r.Header.Get("X-TC-Region"),
		Language:  r.Header.Get("X-TC-Language"),
		RequestID: s.newID(),
	}
	fields, apiErr := s.serve(w, r, req)
	// Log before answering, so that the line exists once the client has
	// its answer.
	s.logRequest(r, req, apiErr, time.Since(start))
	writeResponse(w, req.RequestID, fields, apiErr)
}

func (s *Server) logRequest(r *http.Request, req *Request, apiErr *Error, d time.Duration) {

	code, level := "OK", slog.LevelInfo
	if apiErr != nil {
		code = apiErr.Code
		if code == CodeInternalError {
			level = slog.LevelError
		}
	}
	secretID, service := req.Caller.SecretID, req.Service
	if secretID == "" { // not verified: log who it claimed to be
		if a, err := tc3.ParseAuthorization(r.Header.Get(tc3.HeaderAuthorization)); err == nil {
			secretID, service = a.SecretID, a.Service
		}
	}
	s.logger.LogAttrs(r.Context(), level, "cloudapi request",
		slog.String("request_id", req.RequestID),
		slog.String("method", r.Method),
		slog.String("service", service),
		slog.String("version", req.Version),
		slog.String("action", req.Action),
		slog.String("region", req.Region),
		slog.String("secret_id", secretID),
		slog.String("code", code),
		slog.Duration("duration", d),
	)
}

// serve runs the checks of the package comment and the handler, returning
// the result's JSON object or the error to answer with.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, req *Request) ([]byte, *Error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, Errorf(CodeUnsupportedProtocol, "The request method %s is not supported; only GET and POST are.", r.Method)
	}
	body, apiErr := s.readBody(w, r, req.RequestID)
	if apiErr != nil {
		return nil, apiErr
	}

	var signer Credential
	lookup := func(id string) (tc3.Secret, bool) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		c, ok := s.creds[id]
		signer = c
		return tc3.Secret{Key: c.SecretKey, Token: c.Token}, ok
	}
	caller, err := tc3.Verify(r, body, lookup, s.now())
	if err != nil {
		var te *tc3.Error
		if !errors.As(err, &te) {
			s.logger.Error("cloudapi: signature check failed unexpectedly", "request_id", req.RequestID, "error", err)
			return nil, internalError()
		}
		if te.CanonicalRequest != "" {
			s.logger.Debug("cloudapi: signature mismatch", "request_id", req.RequestID, "canonical_request", te.CanonicalRequest)
		}
		return nil, &Error{Code: te.Code, Message: te.Message}
	}
	req.Service, req.Caller = caller.Service, signer

	h, apiErr := s.route(req)
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := readParameters(r, req, body); apiErr != nil {
		return nil, apiErr
	}
	if s.hook != nil {
		if err := s.hook(req); err != nil {
			return nil, s.toAPIError(req, err)
		}
	}
	res, err := call(r.Context(), h, req)
	if err != nil {
		return nil, s.toAPIError(req, err)
	}
	fields, err := marshalResult(res)
	if err != nil {
		s.logger.Error("cloudapi: handler result cannot be sent", "request_id", req.RequestID,
			"action", req.Action, "error", err)
		return nil, internalError()
	}
	return fields, nil
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request, requestID string) ([]byte, *Error) {
	tooLarge := func(size string) *Error {
		// Consume what the client is still sending (bounded) so that it
		// reads the answer rather than a reset connection, then hang up.
		_, _ = io.CopyN(io.Discard, r.Body, drainLimit)
		w.Header().Set("Connection", "close")
		return Errorf(CodeRequestSizeLimitExceeded, "The request body is %s bytes, over the limit of %d bytes.", size, s.maxBody)
	}
	if r.ContentLength > s.maxBody {
		return nil, tooLarge(fmt.Sprint(r.ContentLength))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		s.logger.Warn("cloudapi: reading request body", "request_id", requestID, "error", err)
		return nil, Errorf(CodeInvalidRequest, "The request body could not be read.")
	}
	if int64(len(body)) > s.maxBody {
		return nil, tooLarge("more than " + fmt.Sprint(s.maxBody))
	}
	return body, nil
}

func (s *Server) route(req *Request) (Handler, *Error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	versions, ok := s.routes[req.Service]
	if !ok {
		service, found := s.serviceServing(req.Version, req.Action)
		if !found {
			return nil, Errorf(CodeNoSuchProduct, "The product `%s` does not exist.", req.Service)
		}
		req.Service, versions = service, s.routes[service]
	}
	if req.Action == "" {
		return nil, MissingParameter("Action")
	}
	if req.Version == "" {
		return nil, MissingParameter("Version")
	}
	actions, ok := versions[req.Version]
	if !ok {
		return nil, Errorf(CodeNoSuchVersion, "The API version `%s` of product `%s` does not exist.", req.Version, req.Service)
	}
	h, ok := actions[req.Action]
	if !ok {
		return nil, Errorf(CodeInvalidAction, "The action `%s` does not exist in version `%s` of product `%s`.", req.Action, req.Version, req.Service)
	}
	return h, nil
}

// serviceServing is the one registered service whose version has action.
// It lets SDKs that take the credential scope's service from the
// endpoint's first label (the Node.js SDK signs "127" for 127.0.0.1:9090)
// reach the product by version and action alone. The caller holds s.mu.
func (s *Server) serviceServing(version, action string) (string, bool) {
	if version == "" || action == "" {
		return "", false
	}
	var found []string
	for service, versions := range s.routes {
		if _, ok := versions[version][action]; ok {
			found = append(found, service)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

// readParameters fills req.Body from the POST body or the GET query.
func readParameters(r *http.Request, req *Request, body []byte) *Error {
	if r.Method == http.MethodGet {
		b, err := queryToJSON(r.URL.RawQuery)
		if err != nil {
			return err
		}
		req.Body, req.fromQuery = b, true
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return Errorf(CodeInvalidParameter, "The Content-Type %q is not supported; send the parameters as application/json.", ct)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		req.Body = []byte("{}")
		return nil
	}
	if err := checkJSONObject(body); err != nil {
		return err
	}
	req.Body = body
	return nil
}

// panicError carries a handler panic to the log.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("handler panic: %v", p.value) }

func call(ctx context.Context, h Handler, req *Request) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h(ctx, req)
}

func (s *Server) toAPIError(req *Request, err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr != nil && apiErr.Code != "" {
		return apiErr
	}
	attrs := []any{"request_id", req.RequestID, "service", req.Service, "action", req.Action, "error", err}
	var p *panicError
	if errors.As(err, &p) {
		attrs = append(attrs, "stack", string(p.stack))
	}
	s.logger.Error("cloudapi: handler failed", attrs...)
	return internalError()
}

// marshalResult encodes a handler's result as a JSON object without a
// RequestId field.
func marshalResult(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Map || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return []byte("{}"), nil
		}
	}
	b, err := encodeJSON(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	if string(b) == "null" {
		return []byte("{}"), nil
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("result %T is not a JSON object", v)
	}
	if bytes.Contains(b, []byte(`"RequestId"`)) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("re-read result %T: %w", v, err)
		}
		if _, ok := m["RequestId"]; ok {
			delete(m, "RequestId")
			if b, err = encodeJSON(m); err != nil {
				return nil, fmt.Errorf("re-encode result %T: %w", v, err)
			}
		}
	}
	return b, nil
}

// encodeJSON marshals without HTML escaping: function results and events
// travel as written, as they do from Tencent.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

type errorResponse struct {
	Error struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	} `json:"Error"`
	RequestID string `json:"RequestId"`
}

// writeResponse writes the envelope around fields (a JSON object) or apiErr.
func writeResponse(w http.ResponseWriter, requestID string, fields []byte, apiErr *Error) {
	var buf bytes.Buffer
	buf.WriteString(`{"Response":`)
	if apiErr != nil {
		var e errorResponse
		e.Error.Code, e.Error.Message, e.RequestID = apiErr.Code, apiErr.Message, requestID
		b, _ := encodeJSON(e) // strings only: cannot fail
		buf.Write(b)
	} else {
		id, _ := encodeJSON(requestID)
		buf.Write(fields[:len(fields)-1])
		if len(fields) > 2 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"RequestId":`)
		buf.Write(id)
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes()) // the client may be gone; nothing to do
}

// newUUID returns a random (version 4) UUID, the form of Tencent's RequestIds.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
