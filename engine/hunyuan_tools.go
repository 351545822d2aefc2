package engine

import (
	"encoding/json"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	hunyuan "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/hunyuan/v20230901"
)

// Tool calls through Hunyuan's native ChatCompletions: OpenAI's tools,
// tool_choice, an assistant's tool_calls and a tool message's
// tool_call_id map to Tools, ToolChoice/CustomTool, ToolCalls and
// ToolCallId; the answer's ToolCalls (whole, or per stream delta with
// their Index) map back.
//
// Assumptions where Hunyuan's documentation is thin: its ToolChoice is
// "none", "auto" or "custom" (with CustomTool), so a named function is
// custom, and "required", which it lacks, is custom with the only tool
// when there is one, else auto; Parameters is the schema as a JSON text,
// an object schema without properties when the tool has none; an
// assistant message that only calls tools is sent without Content.

// emptyParameters is the schema of a function without parameters.
const emptyParameters = `{"type":"object","properties":{}}`

// hunyuanTools sets hreq's tools and tool choice from req's.
func hunyuanTools(req ChatRequest, hreq *hunyuan.ChatCompletionsRequest) {
	if len(req.Tools) == 0 {
		return
	}
	tools := make([]*hunyuan.Tool, 0, len(req.Tools))
	for _, t := range req.Tools {
		tools = append(tools, hunyuanTool(t.Function))
	}
	hreq.Tools = tools
	switch mode, name := req.toolChoice(); mode {
	case "function":
		if fn, ok := req.tool(name); ok {
			hreq.ToolChoice, hreq.CustomTool = common.StringPtr("custom"), hunyuanTool(fn)
		}
	case "none", "auto":
		hreq.ToolChoice = common.StringPtr(mode)
	case "required":
		hreq.ToolChoice = common.StringPtr("auto")
		if len(req.Tools) == 1 {
			hreq.ToolChoice, hreq.CustomTool = common.StringPtr("custom"), hunyuanTool(req.Tools[0].Function)
		}
	}
}

func hunyuanTool(f ToolFunction) *hunyuan.Tool {
	params := string(f.Parameters)
	if len(f.Parameters) == 0 || string(f.Parameters) == "null" {
		params = emptyParameters
	}
	fn := &hunyuan.ToolFunction{Name: common.StringPtr(f.Name), Parameters: common.StringPtr(params)}
	var desc string
	if json.Unmarshal(f.Description, &desc) == nil && desc != "" {
		fn.Description = common.StringPtr(desc)
	}
	return &hunyuan.Tool{Type: common.StringPtr("function"), Function: fn}
}

// hunyuanMessage is m in Hunyuan's terms.
func hunyuanMessage(m Message) *hunyuan.Message {
	hm := &hunyuan.Message{Role: common.StringPtr(hunyuanRole(m.Role))}
	if m.Content != "" || len(m.ToolCalls) == 0 {
		hm.Content = common.StringPtr(m.Content)
	}
	if m.ToolCallID != "" {
		hm.ToolCallId = common.StringPtr(m.ToolCallID)
	}
	var calls []ToolCall
	if json.Unmarshal(m.ToolCalls, &calls) == nil {
		for _, c := range calls {
			hm.ToolCalls = append(hm.ToolCalls, &hunyuan.ToolCall{Id: common.StringPtr(c.ID), Type: common.StringPtr("function"),
				Function: &hunyuan.ToolCallFunction{Name: common.StringPtr(c.Function.Name), Arguments: common.StringPtr(c.Function.Arguments)}})
		}
	}
	return hm
}

// openAIToolCalls are Hunyuan's tool calls as an OpenAI message's
// tool_calls; nil for none.
func openAIToolCalls(calls []*hunyuan.ToolCall) json.RawMessage {
	out := make([]ToolCall, 0, len(calls))
	for _, c := range calls {
		if c == nil {
			continue
		}
		tc := ToolCall{ID: str(c.Id), Type: "function"}
		if c.Function != nil {
			tc.Function = ToolCallFunction{Name: str(c.Function.Name), Arguments: str(c.Function.Arguments)}
		}
		out = append(out, tc)
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out)
	return b
}

// streamedCall is one call of a streamed answer as its deltas build it.
type streamedCall struct {
	Index    int64            `json:"index"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function ToolCallFunction `json:"function"`
}

// streamToolCalls turns a stream delta's calls into OpenAI's delta
// tool_calls and adds them to calls (by index); nil for none.
func streamToolCalls(deltas []*hunyuan.ToolCall, calls *[]streamedCall) json.RawMessage {
	var out []streamedCall
	for i, d := range deltas {
		if d == nil {
			continue
		}
		c := streamedCall{Index: int64(i), ID: str(d.Id), Type: str(d.Type)}
		if d.Index != nil {
			c.Index = *d.Index
		}
		if c.ID != "" && c.Type == "" {
			c.Type = "function"
		}
		if d.Function != nil {
			c.Function = ToolCallFunction{Name: str(d.Function.Name), Arguments: str(d.Function.Arguments)}
		}
		out = append(out, c)
		merged := false
		for j := range *calls {
			if p := &(*calls)[j]; p.Index == c.Index {
				p.Function.Arguments += c.Function.Arguments
				if p.ID == "" {
					p.ID = c.ID
				}
				if p.Function.Name == "" {
					p.Function.Name = c.Function.Name
				}
				merged = true
			}
		}
		if !merged {
			*calls = append(*calls, c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out)
	return b
}

// wholeToolCalls are a stream's calls as a message's tool_calls; nil for
// none.
func wholeToolCalls(calls []streamedCall) json.RawMessage {
	if len(calls) == 0 {
		return nil
	}
	out := make([]ToolCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, ToolCall{ID: c.ID, Type: "function", Function: c.Function})
	}
	b, _ := json.Marshal(out)
	return b
}
