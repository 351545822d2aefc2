package trigger

import (
	"errors"
	"net/http"

	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/scfevent"
)

// passThrough is API Gateway's answer with the integration response off:
// the payload itself.
func passThrough(payload []byte) *scfevent.HTTPResponse {
	return &scfevent.HTTPResponse{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: payload}
}

// gatewayError is API Gateway's own error body.
type gatewayError struct {
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// invalidResponse is API Gateway's answer to a payload that is not an
// integration response (status 403 in SCF's status-code table).
func invalidResponse(requestID string) *scfevent.HTTPResponse {
	return scfevent.JSONResponse(http.StatusForbidden, gatewayError{ErrorCode: http.StatusForbidden,
		ErrorMessage: "requestId " + requestID + " , Invalid scf response. expected scf response valid JSON."})
}

// errorResponse maps an invocation's error to the HTTP answer. An SCF
// status (*runtime.Error, whether a refusal or a function error) is the
// HTTP status, except 406 RequestTooLarge, which is 413; the body carries
// the SCF status as errorCode. Any other error, or a status that is not a
// 4xx or 5xx, is 500.
func errorResponse(err error, requestID string) (int, runtime.SCFErrorBody) {
	var se *runtime.Error
	if !errors.As(err, &se) {
		return http.StatusInternalServerError, runtime.SCFErrorBody{ErrorCode: http.StatusInternalServerError,
			ErrorMessage: err.Error(), RequestID: requestID}
	}
	status := se.Status
	switch {
	case status == runtime.StatusRequestTooLarge:
		status = http.StatusRequestEntityTooLarge
	case status < 400 || status > 599:
		status = http.StatusInternalServerError
	}
	msg := se.Message
	if msg == "" {
		msg = se.Code
	}
	return status, runtime.SCFErrorBody{ErrorCode: se.Status, ErrorMessage: msg, RequestID: requestID}
}
