package engine

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/scfgate/scfgate/chatreq"
)

// rules are the engines' request rules (chatreq's, with these options): a
// server of one text model, which answers with its own model when the
// request names none and produces one choice.
var rules = chatreq.Rules{ModelOptional: true, TextOnly: true, MaxChoices: 1}

// ParseChatRequest checks a request body against rules and limits and
// decodes it, or returns the first rule it breaks, ready for the client
// (Body). On top of chatreq's checks it counts the prompt (PromptTokens):
// the prompt plus the requested output must fit limits.ContextWindow.
func ParseChatRequest(body []byte, limits chatreq.Limits) (ChatRequest, *chatreq.Error) {
	f, rerr := chatreq.Parse(body, rules)
	if rerr == nil {
		rerr = limits.Check(&f)
	}
	if rerr != nil {
		return ChatRequest{}, rerr
	}
	// The token counts as chatreq read them (16.0 is 16); everything else
	// as encoding/json does, through Message and Stop.
	var w struct {
		plainRequest
		MaxTokens           json.RawMessage `json:"max_tokens"`
		MaxCompletionTokens json.RawMessage `json:"max_completion_tokens"`
		N                   json.RawMessage `json:"n"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		// Reached only by a member the rules saw under one name and
		// encoding/json under another ("Tools" folded onto "tools"): say
		// which, in JSON's terms.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field := strings.TrimPrefix(te.Field, "plainRequest.") // the path starts at the Go type
			return ChatRequest{}, &chatreq.Error{Param: field, Code: chatreq.CodeInvalidType,
				Message: "Invalid type for '" + field + "': got a JSON " + te.Value + " (a member whose name differs from '" +
					field + "' only in case; send it once, in lower case)."}
		}
		return ChatRequest{}, &chatreq.Error{Code: chatreq.CodeInvalidJSON,
			Message: "The request body could not be read as a chat completion request; send each member once, its name in lower case."}
	}
	req := ChatRequest(w.plainRequest)
	req.Raw = body
	req.MaxTokens, req.MaxCompletionTokens = optional(f.MaxTokens), optional(f.MaxCompletionTokens)
	if string(w.N) != "" && string(w.N) != "null" {
		req.N = optional(1) // the only n the rules accept
	}
	if limits.ContextWindow > 0 {
		out := int(f.Output())
		if prompt := PromptTokens(req); prompt+out > limits.ContextWindow {
			return ChatRequest{}, chatreq.ContextExceeded(limits.ContextWindow, prompt, out)
		}
	}
	return req, nil
}

// plainRequest is ChatRequest without its integer members, which
// ParseChatRequest takes from chatreq.
type plainRequest ChatRequest

// optional is v as an optional parameter: nil for 0 (unset).
func optional(v int64) *int {
	if v == 0 {
		return nil
	}
	n := int(v)
	return &n
}
