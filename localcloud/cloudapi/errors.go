package cloudapi

import (
	"fmt"
	"strings"

	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
)

// Common error codes of Tencent Cloud API 3.0 that the server itself
// produces (handlers may return any code, including product-specific ones
// such as "ResourceNotFound.Function").
const (
	CodeInternalError            = "InternalError"
	CodeInvalidAction            = "InvalidAction"
	CodeInvalidParameter         = "InvalidParameter"
	CodeInvalidParameterValue    = "InvalidParameterValue"
	CodeInvalidRequest           = "InvalidRequest"
	CodeMissingParameter         = "MissingParameter"
	CodeNoSuchProduct            = "NoSuchProduct"
	CodeNoSuchVersion            = "NoSuchVersion"
	CodeRequestSizeLimitExceeded = "RequestSizeLimitExceeded"
	CodeUnknownParameter         = "UnknownParameter"
	CodeUnsupportedProtocol      = "UnsupportedProtocol"

	CodeInvalidAuthorization = tc3.CodeInvalidAuthorization
	CodeSecretIDNotFound     = tc3.CodeSecretIDNotFound
	CodeSignatureExpire      = tc3.CodeSignatureExpire
	CodeSignatureFailure     = tc3.CodeSignatureFailure
	CodeTokenFailure         = tc3.CodeTokenFailure
)

// Error is an API error. A handler returns it, or an error wrapping it, to
// answer with {"Response":{"Error":{"Code":…,"Message":…},"RequestId":…}}.
// Message is sent to the client as is.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// MissingParameter reports a required parameter that the request lacks.
func MissingParameter(name string) *Error {
	return Errorf(CodeMissingParameter, "The request is missing a required parameter `%s`.", name)
}

// UnknownParameter reports a parameter the action does not define.
func UnknownParameter(name string) *Error {
	return Errorf(CodeUnknownParameter, "The parameter `%s` is not recognized.", name)
}

// InvalidParameter reports a parameter of the wrong format or type.
func InvalidParameter(name, reason string) *Error {
	return Errorf(CodeInvalidParameter, "The parameter `%s` is invalid: %s.", name, strings.TrimSuffix(reason, "."))
}

// InvalidParameterValue reports a parameter whose value is out of range.
func InvalidParameterValue(name, reason string) *Error {
	return Errorf(CodeInvalidParameterValue, "The value of parameter `%s` is invalid: %s.", name, strings.TrimSuffix(reason, "."))
}

// internalError is the only thing a client learns about a failure that is
// not an *Error; the detail goes to the log.
func internalError() *Error {
	return Errorf(CodeInternalError, "An internal error has occurred. Retry your request, but if the problem persists, contact us.")
}
