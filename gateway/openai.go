package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/scfgate/scfgate/chatreq"
)

// apiError is the "error" object of an OpenAI error body.
type apiError = chatreq.ErrorDetail

// OpenAI error types.
const (
	errInvalidRequest = chatreq.TypeInvalidRequest
	errAuthentication = "authentication_error"
	errRateLimit      = "rate_limit_error"
	errServer         = "server_error"
	errNotFound       = "not_found_error"
)

// writeError answers with status and the OpenAI error shape. param and
// code may be "" (sent as null).
func writeError(w http.ResponseWriter, status int, typ, message, param, code string) {
	body, _ := json.Marshal(chatreq.NewErrorBody(typ, message, param, code))
	noteError(w, typ, code)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // the client may be gone
}

// writeRequestError answers 400 for a request that breaks a rule.
func writeRequestError(w http.ResponseWriter, e *chatreq.Error) {
	writeError(w, http.StatusBadRequest, errInvalidRequest, e.Message, e.Param, e.Code)
}

// replaceModel returns body with "model" set to name. It re-encodes the
// top-level object, keeping every other member as sent.
func replaceModel(body []byte, name string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	m, _ := json.Marshal(name)
	obj["model"] = m
	return json.Marshal(obj)
}
