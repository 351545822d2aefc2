package engine

import (
	"errors"
	"fmt"
)

// ErrUnavailable marks failures where the engine's backend cannot answer
// now: it refused the connection, is overloaded or rate limited, or timed
// out. The model function answers them with 503 and Retry-After.
var ErrUnavailable = errors.New("engine unavailable")

// UpstreamError is an error answer of the server an engine forwards to
// (an OpenAI-compatible server or the Hunyuan API). errors.Is matches
// ErrBadRequest when the upstream refused the request itself (HTTP 400,
// 404, 413, 422; Hunyuan InvalidParameter*, MissingParameter) and
// ErrUnavailable when it is overloaded or down (HTTP 429, 502, 503, 504;
// Hunyuan RequestLimitExceeded*, FailedOperation.EngineServerLimitExceeded,
// FailedOperation.EngineRequestTimeout, ...).
type UpstreamError struct {
	// Engine names the engine ("openai" or "hunyuan").
	Engine string
	// Status is the upstream HTTP status; 0 when the upstream answered
	// with an error envelope (Hunyuan answers errors with HTTP 200).
	Status int
	// Code is the upstream's error code or type, when it gave one.
	Code string
	// Message is the upstream's message.
	Message string
	// Param is the request parameter the upstream named, when it named
	// one (OpenAI's "param").
	Param string
	// RequestID is the upstream's request id (Hunyuan), when known.
	RequestID string

	kind error // ErrBadRequest, ErrUnavailable or nil
}

func (e *UpstreamError) Error() string {
	s := "engine: " + e.Engine + " upstream"
	if e.Status != 0 {
		s += fmt.Sprintf(" HTTP %d", e.Status)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	s += ": " + e.Message
	if e.RequestID != "" {
		s += " (RequestId " + e.RequestID + ")"
	}
	return s
}

// Unwrap returns ErrBadRequest, ErrUnavailable or nil.
func (e *UpstreamError) Unwrap() error { return e.kind }

// kindOfStatus classes an upstream HTTP status.
func kindOfStatus(status int) error {
	switch status {
	case 400, 404, 413, 422:
		return ErrBadRequest
	case 408, 429, 502, 503, 504:
		return ErrUnavailable
	}
	return nil
}
