package trigger

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/scfgate/scfgate/localcloud/runtime"
)

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   runtime.SCFErrorBody
	}{
		{"user code exception", &runtime.Error{Status: runtime.StatusUserCodeException, Code: "UserCodeException", Message: "boom"},
			430, runtime.SCFErrorBody{ErrorCode: 430, ErrorMessage: "boom", RequestID: "r"}},
		{"throttled", &runtime.Error{Status: runtime.StatusConcurrencyLimit, Code: "ResourceLimitReached", Message: "concurrency exceeded"},
			432, runtime.SCFErrorBody{ErrorCode: 432, ErrorMessage: "concurrency exceeded", RequestID: "r"}},
		{"timeout", &runtime.Error{Status: runtime.StatusTimeLimit, Message: "timed out"},
			433, runtime.SCFErrorBody{ErrorCode: 433, ErrorMessage: "timed out", RequestID: "r"}},
		{"memory", &runtime.Error{Status: runtime.StatusMemoryLimit, Message: "oom"},
			434, runtime.SCFErrorBody{ErrorCode: 434, ErrorMessage: "oom", RequestID: "r"}},
		{"not found", &runtime.Error{Status: runtime.StatusFunctionNotFound, Code: "ResourceNotFound.Function", Message: "no such function"},
			435, runtime.SCFErrorBody{ErrorCode: 435, ErrorMessage: "no such function", RequestID: "r"}},
		{"container exited", &runtime.Error{Status: runtime.StatusContainerExited, Message: "exit 2"},
			405, runtime.SCFErrorBody{ErrorCode: 405, ErrorMessage: "exit 2", RequestID: "r"}},
		{"burst limit", &runtime.Error{Status: runtime.StatusResourceLimit, Message: "too many starts"},
			429, runtime.SCFErrorBody{ErrorCode: 429, ErrorMessage: "too many starts", RequestID: "r"}},
		{"request too large is 413", &runtime.Error{Status: runtime.StatusRequestTooLarge, Message: "big"},
			413, runtime.SCFErrorBody{ErrorCode: 406, ErrorMessage: "big", RequestID: "r"}},
		{"no message uses the code", &runtime.Error{Status: 430, Code: "UserCodeException"},
			430, runtime.SCFErrorBody{ErrorCode: 430, ErrorMessage: "UserCodeException", RequestID: "r"}},
		{"wrapped", fmt.Errorf("invoke: %w", &runtime.Error{Status: 432, Message: "busy"}),
			432, runtime.SCFErrorBody{ErrorCode: 432, ErrorMessage: "busy", RequestID: "r"}},
		{"not an error status", &runtime.Error{Status: 200, Message: "odd"},
			500, runtime.SCFErrorBody{ErrorCode: 200, ErrorMessage: "odd", RequestID: "r"}},
		{"other error", errors.New("connection reset"),
			500, runtime.SCFErrorBody{ErrorCode: 500, ErrorMessage: "connection reset", RequestID: "r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := errorResponse(tt.err, "r")
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("errorResponse = %d %+v, want %d %+v", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestInvalidResponseBody(t *testing.T) {
	rec := httptest.NewRecorder()
	invalidResponse("abc").Write(rec)
	const want = `{"errorCode":403,"errorMessage":"requestId abc , Invalid scf response. expected scf response valid JSON."}`
	if rec.Code != 403 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got %d %v %s, want 403 %s", rec.Code, rec.Header(), rec.Body, want)
	}
}
