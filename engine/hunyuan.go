package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	hunyuan "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/hunyuan/v20230901"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// DefaultHunyuanModel is the Hunyuan model a request naming none gets:
// hunyuan-lite, the smallest and cheapest of the ChatCompletions models
// (v1.0.1093 lists hunyuan-lite, -standard, -standard-256K, -pro, -turbo,
// -turbo-latest, -large, ...).
const DefaultHunyuanModel = "hunyuan-lite"

// HunyuanConfig configures the Hunyuan engine.
type HunyuanConfig struct {
	// Model is sent when a request names no model; "" means
	// DefaultHunyuanModel. A request's own model is sent as is.
	Model string
	// Region is sent as X-TC-Region; "" leaves it out.
	Region string
	// Endpoint is where calls go; the zero value is
	// hunyuan.tencentcloudapi.com over https. Another host is for tests
	// and local emulators.
	Endpoint tencentcloud.Endpoint
	// Credential signs every request and is asked again for each, so one
	// that reads SCF's role credentials then (tencentcloud.RoleCredential)
	// follows SCF's refreshes. Nil signs with none, and every request is
	// refused.
	Credential common.CredentialIface
	// Timeout bounds a whole call, a stream included; 0 means none (the
	// request's context bounds it).
	Timeout time.Duration
	// Transport replaces the SDK's HTTP transport; nil keeps it.
	Transport http.RoundTripper
}

// Hunyuan answers chat completions with the Hunyuan cloud API's native
// ChatCompletions action (version 2023-09-01, TC3-HMAC-SHA256 signed by
// tencentcloud-sdk-go), mapping OpenAI messages to Hunyuan Messages
// (Role, Content) and the answer back (Choices, Usage). Streams use the
// SDK's SSE event channel.
//
// Carried: temperature, top_p, stop, and tool calls both ways (see
// hunyuan_tools.go). Hunyuan's native API stops after the stop sequence
// it meets, OpenAI's before it: the engine removes it from the text,
// holding back a stream's text that may begin one until it knows. Not
// carried: max_tokens and max_completion_tokens (ChatCompletions in
// v1.0.1093 has no output-length field), images, response_format.
// Hunyuan's FinishReason "sensitive" (moderation) becomes
// "content_filter".
type Hunyuan struct {
	cfg    HunyuanConfig
	client *hunyuan.Client
}

var _ Engine = (*Hunyuan)(nil)

// NewHunyuan checks cfg and returns the engine. Missing credentials are
// not an error here: they are read, and checked, per request.
func NewHunyuan(cfg HunyuanConfig) (*Hunyuan, error) {
	if cfg.Model == "" {
		cfg.Model = DefaultHunyuanModel
	}
	if cfg.Credential == nil {
		cfg.Credential = tencentcloud.RoleCredential{}
	}
	if err := cfg.Endpoint.Validate(); err != nil {
		return nil, fmt.Errorf("engine: hunyuan: %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("engine: hunyuan timeout %s is negative", cfg.Timeout)
	}
	prof := cfg.Endpoint.Profile()
	prof.HttpProfile.ReqTimeout = int((cfg.Timeout + time.Second - 1) / time.Second)
	c, err := hunyuan.NewClient(cfg.Credential, cfg.Region, prof)
	if err != nil {
		return nil, fmt.Errorf("engine: hunyuan client: %w", err)
	}
	if cfg.Transport != nil {
		c.WithHttpTransport(cfg.Transport)
	}
	return &Hunyuan{cfg: cfg, client: c}, nil
}

// checkCredential refuses a request before it is signed with no key: the
// credential's own Check (tencentcloud.RoleCredential names the role
// variables) when it has one.
func checkCredential(c common.CredentialIface) error {
	if ch, ok := c.(interface{ Check() error }); ok {
		return ch.Check()
	}
	if c.GetSecretId() == "" || c.GetSecretKey() == "" {
		return errors.New("no credentials: the SecretId or SecretKey is empty")
	}
	return nil
}

// hunyuanRole maps an OpenAI role to Hunyuan's: "developer" is Hunyuan's
// "system"; the rest (system, user, assistant, tool) are the same.
func hunyuanRole(r string) string {
	if r == "developer" {
		return "system"
	}
	return r
}

// openAIFinish maps Hunyuan's FinishReason to OpenAI's.
func openAIFinish(f string) string {
	if f == "sensitive" {
		return "content_filter"
	}
	return f
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func hunyuanUsage(u *hunyuan.Usage) Usage {
	if u == nil {
		return Usage{}
	}
	return Usage{PromptTokens: int(i64(u.PromptTokens)), CompletionTokens: int(i64(u.CompletionTokens)),
		TotalTokens: int(i64(u.TotalTokens))}
}

// Complete sends req as one ChatCompletions call; with emit set the call
// is streamed and each event's choices are passed to emit as chunks.
// Errors: ErrBadRequest and ErrUnavailable through *UpstreamError (see
// its doc), the context's error when ctx ends.
func (h *Hunyuan) Complete(ctx context.Context, req ChatRequest, emit func(Chunk) error) (ChatResponse, error) {
	if len(req.Messages) == 0 {
		return ChatResponse{}, fmt.Errorf("engine: messages is empty: %w", ErrBadRequest)
	}
	if err := checkCredential(h.cfg.Credential); err != nil {
		return ChatResponse{}, fmt.Errorf("engine: hunyuan: %w", err)
	}
	model := req.Model
	if model == "" {
		model = h.cfg.Model
	}
	hreq := hunyuan.NewChatCompletionsRequest()
	hreq.Model = common.StringPtr(model)
	for _, m := range req.Messages {
		hreq.Messages = append(hreq.Messages, hunyuanMessage(m))
	}
	hunyuanTools(req, hreq)
	if emit != nil {
		hreq.Stream = common.BoolPtr(true)
	}
	hreq.Temperature, hreq.TopP = req.Temperature, req.TopP
	for _, s := range req.Stop {
		hreq.Stop = append(hreq.Stop, common.StringPtr(s))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also ends the SDK's SSE reader when we stop early
	resp, err := h.client.ChatCompletionsWithContext(ctx, hreq)
	if err != nil {
		if ctx.Err() != nil {
			return ChatResponse{}, ctx.Err()
		}
		return ChatResponse{}, hunyuanError(err)
	}
	if resp.Response != nil { // a whole answer (also when a stream was asked for and not given)
		out := h.answer(resp.Response, model, req.Stop)
		if emit != nil {
			if err := replay(out, emit); err != nil {
				return ChatResponse{}, err
			}
		}
		return out, nil
	}
	if resp.Events == nil {
		return ChatResponse{}, &UpstreamError{Engine: "hunyuan", Message: "empty answer"}
	}
	out, err := h.stream(ctx, resp.Events, model, req.Stop, emit)
	if err != nil && ctx.Err() != nil {
		return ChatResponse{}, ctx.Err()
	}
	return out, err
}

func (h *Hunyuan) answer(p *hunyuan.ChatCompletionsResponseParams, model string, stop []string) ChatResponse {
	out := ChatResponse{ID: str(p.Id), Object: "chat.completion", Created: i64(p.Created), Model: model,
		Usage: hunyuanUsage(p.Usage)}
	for i, c := range p.Choices {
		if c == nil {
			continue
		}
		idx := i
		if c.Index != nil {
			idx = int(*c.Index)
		}
		msg := Message{Role: "assistant"}
		if c.Message != nil {
			if r := str(c.Message.Role); r != "" {
				msg.Role = r
			}
			msg.Content = str(c.Message.Content)
			msg.ToolCalls = openAIToolCalls(c.Message.ToolCalls)
		}
		finish := openAIFinish(str(c.FinishReason))
		if finish == "stop" {
			msg.Content = trimStop(msg.Content, stop)
		}
		out.Choices = append(out.Choices, Choice{Index: idx, Message: msg, FinishReason: finish})
	}
	return out
}

// stream reads the SDK's SSE events: each data object is a
// ChatCompletionsResponseParams without the "Response" wrapper; an event
// named "error" carries an error envelope; empty events are heartbeats.
func (h *Hunyuan) stream(ctx context.Context, events <-chan tchttp.SSEvent, model string, stop []string, emit func(Chunk) error) (ChatResponse, error) {
	out := ChatResponse{Object: "chat.completion", Model: model}
	type acc struct {
		role, finish string
		text         strings.Builder
		held         stopHoldback
		calls        []streamedCall
	}
	var choices []*acc
	for ev := range events {
		if ev.Err != nil {
			if ctx.Err() != nil {
				return ChatResponse{}, ctx.Err()
			}
			return ChatResponse{}, &UpstreamError{Engine: "hunyuan", Message: "stream: " + ev.Err.Error(), kind: ErrUnavailable}
		}
		data := bytes.TrimSpace(ev.Data)
		if ev.Event == "error" {
			var e tchttp.ErrorResponse
			if json.Unmarshal(data, &e) == nil && e.Response.Error.Code != "" {
				return ChatResponse{}, hunyuanError(sdkerrors.NewTencentCloudSDKError(e.Response.Error.Code,
					e.Response.Error.Message, e.Response.RequestId))
			}
			return ChatResponse{}, &UpstreamError{Engine: "hunyuan", Message: "stream error: " + string(data)}
		}
		if len(data) == 0 {
			continue
		}
		var p hunyuan.ChatCompletionsResponseParams
		if err := json.Unmarshal(data, &p); err != nil {
			return ChatResponse{}, &UpstreamError{Engine: "hunyuan", Message: "undecodable stream event: " + err.Error()}
		}
		if p.ErrorMsg != nil && (p.ErrorMsg.Code != nil || p.ErrorMsg.Msg != nil) {
			code := ""
			if p.ErrorMsg.Code != nil {
				code = strconv.FormatInt(*p.ErrorMsg.Code, 10)
			}
			// 4000 internal error, 4001 model timeout: both transient.
			return ChatResponse{}, &UpstreamError{Engine: "hunyuan", Code: code, Message: "stream: " + str(p.ErrorMsg.Msg),
				RequestID: str(p.RequestId), kind: ErrUnavailable}
		}
		if out.ID == "" {
			out.ID, out.Created = str(p.Id), i64(p.Created)
		}
		if p.Usage != nil {
			out.Usage = hunyuanUsage(p.Usage)
		}
		chunk := Chunk{ID: out.ID, Object: "chat.completion.chunk", Created: out.Created, Model: model}
		for i, c := range p.Choices {
			if c == nil {
				continue
			}
			idx := i
			if c.Index != nil {
				idx = int(*c.Index)
			}
			for len(choices) <= idx {
				choices = append(choices, &acc{held: stopHoldback{stop: stop}})
			}
			a := choices[idx]
			var d Delta
			if c.Delta != nil {
				d.Role, d.Content = str(c.Delta.Role), str(c.Delta.Content)
				d.ToolCalls = streamToolCalls(c.Delta.ToolCalls, &a.calls)
			}
			if d.Role != "" {
				a.role = d.Role
			}
			d.Content = a.held.next(d.Content)
			cc := ChunkChoice{Index: idx, Delta: d}
			if f := str(c.FinishReason); f != "" {
				f = openAIFinish(f)
				a.finish = f
				cc.FinishReason = &f
				cc.Delta.Content += a.held.end(f)
			}
			a.text.WriteString(cc.Delta.Content)
			chunk.Choices = append(chunk.Choices, cc)
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		if err := emit(chunk); err != nil {
			return ChatResponse{}, err
		}
	}
	// The SDK drops a reader error it cannot hand over at once, so a stream
	// cut short may just end: without a FinishReason it is not an answer.
	finished := len(choices) > 0
	for _, a := range choices {
		finished = finished && a.finish != ""
	}
	if !finished {
		return ChatResponse{}, &UpstreamError{Engine: "hunyuan", Message: "stream ended before a FinishReason", kind: ErrUnavailable}
	}
	for i, a := range choices {
		role := a.role
		if role == "" {
			role = "assistant"
		}
		out.Choices = append(out.Choices, Choice{Index: i, Message: Message{Role: role, Content: a.text.String(),
			ToolCalls: wholeToolCalls(a.calls)}, FinishReason: a.finish})
	}
	return out, nil
}

// trimStop removes the stop sequence text ends with, if any (the longest
// of those it ends with): Hunyuan's native API stops after the stop
// sequence it met, OpenAI's API before it.
func trimStop(text string, stop []string) string {
	cut := 0
	for _, s := range stop {
		if strings.HasSuffix(text, s) {
			cut = max(cut, len(s))
		}
	}
	return text[:len(text)-cut]
}

// stopHoldback keeps a stream's text to OpenAI's stop semantics when the
// upstream sends the stop sequence it met (Hunyuan's native API does): it
// holds back the text that may be the beginning of a stop sequence until
// the next delta, or the end, tells whether it is one.
type stopHoldback struct {
	stop []string
	held string
}

// next takes a delta and returns the text that can be sent now.
func (h *stopHoldback) next(delta string) string {
	if len(h.stop) == 0 {
		return delta
	}
	text := h.held + delta
	keep := 0
	for _, s := range h.stop {
		for n := min(len(s), len(text)); n > keep; n-- {
			if strings.HasSuffix(text, s[:n]) {
				keep = n
				break
			}
		}
	}
	h.held = text[len(text)-keep:]
	return text[:len(text)-keep]
}

// end returns the held text once the stream finished for finish: without
// a stop sequence it ends with, when the finish is "stop".
func (h *stopHoldback) end(finish string) string {
	rest := h.held
	h.held = ""
	if finish == "stop" {
		rest = trimStop(rest, h.stop)
	}
	return rest
}

var httpStatusInMessage = regexp.MustCompile(`status code: (\d{3})`)

// hunyuanError maps an SDK error to an *UpstreamError with its kind.
func hunyuanError(err error) error {
	var se *sdkerrors.TencentCloudSDKError
	if !errors.As(err, &se) {
		return &UpstreamError{Engine: "hunyuan", Message: err.Error(), kind: ErrUnavailable}
	}
	ue := &UpstreamError{Engine: "hunyuan", Code: se.Code, Message: se.Message, RequestID: se.RequestId}
	if cause := errors.Unwrap(se); cause != nil {
		ue.Message += ": " + cause.Error()
	}
	c := se.Code
	switch {
	case strings.HasPrefix(c, "InvalidParameter"), strings.HasPrefix(c, "MissingParameter"),
		strings.HasPrefix(c, "UnknownParameter"):
		ue.kind = ErrBadRequest
	case strings.HasPrefix(c, "RequestLimitExceeded"), strings.HasPrefix(c, "LimitExceeded"),
		c == "FailedOperation.EngineServerLimitExceeded", c == "FailedOperation.EngineRequestTimeout",
		c == "FailedOperation.EngineServerError", c == "InternalError", c == "ServiceUnavailable",
		c == "ResourceUnavailable", c == "ResourceInsufficient", c == "ClientError.NetworkError":
		ue.kind = ErrUnavailable
	case c == "ClientError.HttpStatusCodeError":
		if m := httpStatusInMessage.FindStringSubmatch(se.Message); m != nil {
			ue.Status, _ = strconv.Atoi(m[1])
			ue.kind = kindOfStatus(ue.Status)
			if ue.Status >= 500 {
				ue.kind = ErrUnavailable
			}
		}
	}
	return ue
}
