package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// fakeEnv is a getenv whose values a test may change between requests.
type fakeEnv struct {
	mu sync.Mutex
	m  map[string]string
}

func (f *fakeEnv) get(k string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[k]
}

func (f *fakeEnv) set(k, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[k] = v
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// checkTC3 verifies the request's TC3-HMAC-SHA256 signature with secret
// key, as the API does (docs/tencent-cloud.md section 4.1), and returns the
// SecretId it names.
func checkTC3(r *http.Request, body []byte, service string, secretKey func(id string) string) (string, error) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "TC3-HMAC-SHA256 ")
	if !ok {
		return "", fmt.Errorf("authorization %q is not TC3-HMAC-SHA256", auth)
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(p, "=")
		parts[k] = v
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 4 || cred[2] != service || cred[3] != "tc3_request" {
		return "", fmt.Errorf("credential scope %q", parts["Credential"])
	}
	if parts["SignedHeaders"] != "content-type;host" {
		return "", fmt.Errorf("signed headers %q", parts["SignedHeaders"])
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return "", fmt.Errorf("X-TC-Timestamp: %v", err)
	}
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	if cred[1] != date {
		return "", fmt.Errorf("scope date %s, timestamp date %s", cred[1], date)
	}
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{r.Method, "/", "",
		"content-type:" + r.Header.Get("Content-Type") + "\nhost:" + r.Host + "\n",
		"content-type;host", hex.EncodeToString(payload[:])}, "\n")
	hc := sha256.Sum256([]byte(canonical))
	scope := date + "/" + service + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + hex.EncodeToString(hc[:])
	k := hmacSHA256([]byte("TC3"+secretKey(cred[0])), date)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "tc3_request")
	if want := hex.EncodeToString(hmacSHA256(k, toSign)); parts["Signature"] != want {
		return "", fmt.Errorf("signature %s, want %s", parts["Signature"], want)
	}
	return cred[0], nil
}

// hunyuanAPI is a fake Hunyuan endpoint: it verifies each request's
// action, version and signature, records it and lets answer reply.
type hunyuanAPI struct {
	t      *testing.T
	srv    *httptest.Server
	keys   map[string]string // SecretId -> SecretKey
	answer func(w http.ResponseWriter, body map[string]any)

	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	secretID, token, region string
	body                    map[string]any
}

func newHunyuanAPI(t *testing.T, answer func(w http.ResponseWriter, body map[string]any)) *hunyuanAPI {
	a := &hunyuanAPI{t: t, keys: map[string]string{"AKID1": "key1", "AKID2": "key2"}, answer: answer}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *hunyuanAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fail := func(code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"Response":{"Error":{"Code":%q,"Message":%q},"RequestId":"req-fail"}}`, code, msg)
		a.t.Errorf("%s: %s", code, msg)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		fail("UnsupportedProtocol", r.Method+" "+r.URL.Path)
		return
	}
	if act, ver := r.Header.Get("X-TC-Action"), r.Header.Get("X-TC-Version"); act != "ChatCompletions" || ver != "2023-09-01" {
		fail("InvalidAction", act+" "+ver)
		return
	}
	id, err := checkTC3(r, body, "hunyuan", func(id string) string { return a.keys[id] })
	if err != nil {
		fail("AuthFailure.SignatureFailure", err.Error())
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		fail("InvalidParameter", err.Error())
		return
	}
	a.mu.Lock()
	a.seen = append(a.seen, seenRequest{secretID: id, token: r.Header.Get("X-TC-Token"), region: r.Header.Get("X-TC-Region"), body: m})
	a.mu.Unlock()
	a.answer(w, m)
}

func (a *hunyuanAPI) last() seenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		a.t.Fatal("no request reached the API")
	}
	return a.seen[len(a.seen)-1]
}

func (a *hunyuanAPI) engine(env *fakeEnv) *Hunyuan {
	u, _ := url.Parse(a.srv.URL)
	e, err := NewHunyuan(HunyuanConfig{Region: "ap-guangzhou", Endpoint: tencentcloud.Endpoint{Host: u.Host, Scheme: "http"},
		Credential: tencentcloud.RoleCredential{Getenv: env.get}})
	if err != nil {
		a.t.Fatal(err)
	}
	return e
}

func creds() *fakeEnv {
	return &fakeEnv{m: map[string]string{tencentcloud.SecretIDEnv: "AKID1", tencentcloud.SecretKeyEnv: "key1", tencentcloud.SessionTokenEnv: "tok1"}}
}

const hunyuanAnswer = `{"Response":{"Created":1700000000,"Id":"hy-1","Note":"以上内容为AI生成",
"Choices":[{"FinishReason":"stop","Index":0,"Message":{"Role":"assistant","Content":"你好"}}],
"Usage":{"PromptTokens":9,"CompletionTokens":2,"TotalTokens":11},"RequestId":"req-1"}}`

func TestHunyuanNonStreamed(t *testing.T) {
	api := newHunyuanAPI(t, func(w http.ResponseWriter, _ map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, hunyuanAnswer)
	})
	env := creds()
	e := api.engine(env)
	res, err := e.Complete(context.Background(), ChatRequest{Messages: []Message{
		{Role: "developer", Content: "be brief"}, {Role: "user", Content: "hi"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ChatResponse{ID: "hy-1", Object: "chat.completion", Created: 1700000000, Model: "hunyuan-lite",
		Choices: []Choice{{Message: Message{Role: "assistant", Content: "你好"}, FinishReason: "stop"}},
		Usage:   Usage{PromptTokens: 9, CompletionTokens: 2, TotalTokens: 11}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
	got := api.last()
	wantBody := map[string]any{"Model": "hunyuan-lite", "Messages": []any{
		map[string]any{"Role": "system", "Content": "be brief"}, map[string]any{"Role": "user", "Content": "hi"}}}
	if got.secretID != "AKID1" || got.token != "tok1" || got.region != "ap-guangzhou" || !reflect.DeepEqual(got.body, wantBody) {
		t.Errorf("request = %+v", got)
	}
	// Credentials are read again for every request (SCF refreshes them);
	// a request's own model is sent.
	env.set(tencentcloud.SecretIDEnv, "AKID2")
	env.set(tencentcloud.SecretKeyEnv, "key2")
	env.set(tencentcloud.SessionTokenEnv, "")
	if _, err := e.Complete(context.Background(), ChatRequest{Model: "hunyuan-turbo", Messages: []Message{{Role: "user", Content: "hi"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := api.last(); got.secretID != "AKID2" || got.token != "" || got.body["Model"] != "hunyuan-turbo" {
		t.Errorf("request = %+v", got)
	}
}

func TestHunyuanErrorEnvelope(t *testing.T) {
	for _, tc := range []struct {
		code     string
		bad, unv bool
	}{
		{"InvalidParameterValue.Model", true, false},
		{"FailedOperation.EngineServerLimitExceeded", false, true},
		{"RequestLimitExceeded", false, true},
		{"FailedOperation.ServiceNotActivated", false, false},
	} {
		api := newHunyuanAPI(t, func(w http.ResponseWriter, _ map[string]any) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"Response":{"Error":{"Code":%q,"Message":"says no"},"RequestId":"req-9"}}`, tc.code)
		})
		_, err := api.engine(creds()).Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, nil)
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Code != tc.code || ue.RequestID != "req-9" || !strings.Contains(err.Error(), "says no") ||
			errors.Is(err, ErrBadRequest) != tc.bad || errors.Is(err, ErrUnavailable) != tc.unv {
			t.Errorf("%s: err = %v", tc.code, err)
		}
		if strings.Contains(fmt.Sprint(err), "key1") {
			t.Errorf("secret key in %v", err)
		}
	}
}

func TestHunyuanStream(t *testing.T) {
	events := []string{
		`{"Id":"hy-s","Created":5,"Choices":[{"Index":0,"Delta":{"Role":"assistant","Content":"你"}}]}`,
		`{"Id":"hy-s","Created":5,"Choices":[{"Index":0,"Delta":{"Content":"好"}}]}`,
		`{"Id":"hy-s","Created":5,"Choices":[{"Index":0,"Delta":{"Content":""},"FinishReason":"sensitive"}],"Usage":{"PromptTokens":3,"CompletionTokens":2,"TotalTokens":5}}`,
	}
	relayed := make(chan struct{}, 8)
	api := newHunyuanAPI(t, func(w http.ResponseWriter, body map[string]any) {
		if body["Stream"] != true {
			t.Errorf("Stream = %v", body["Stream"])
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-TC-RequestId", "req-s")
		fl := w.(http.Flusher)
		io.WriteString(w, "data: \n\n") // a heartbeat
		for _, ev := range events {
			fmt.Fprintf(w, "data: %s\n\n", ev)
			fl.Flush()
			<-relayed // sent one by one, each after the previous was relayed
		}
	})
	var chunks []Chunk
	res, err := api.engine(creds()).Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}, Stream: true},
		func(c Chunk) error {
			chunks = append(chunks, c)
			relayed <- struct{}{}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 || chunks[0].Choices[0].Delta.Role != "assistant" || chunks[1].Choices[0].Delta.Content != "好" ||
		chunks[2].Choices[0].FinishReason == nil || *chunks[2].Choices[0].FinishReason != "content_filter" || chunks[0].ID != "hy-s" {
		t.Fatalf("chunks = %+v", chunks)
	}
	want := ChatResponse{ID: "hy-s", Object: "chat.completion", Created: 5, Model: "hunyuan-lite",
		Choices: []Choice{{Message: Message{Role: "assistant", Content: "你好"}, FinishReason: "content_filter"}},
		Usage:   Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
}

func TestHunyuanStreamErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		want string
		unv  bool
	}{
		"error event":  {"event: error\ndata: {\"Response\":{\"Error\":{\"Code\":\"InvalidParameterValue\",\"Message\":\"bad role\"},\"RequestId\":\"r\"}}\n\n", "bad role", false},
		"ErrorMsg":     {"data: {\"Id\":\"x\",\"ErrorMsg\":{\"Msg\":\"请求模型超时\",\"Code\":4001}}\n\n", "请求模型超时", true},
		"undecodable":  {"data: {nope\n\n", "undecodable", false},
		"invalid line": {"nonsense\n\n", "stream", true},
		"cut short":    {"data: {\"Choices\":[{\"Delta\":{\"Content\":\"a\"}}]}\n\n", "before a FinishReason", true},
	} {
		t.Run(name, func(t *testing.T) {
			api := newHunyuanAPI(t, func(w http.ResponseWriter, _ map[string]any) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, tc.body)
			})
			_, err := api.engine(creds()).Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}},
				func(Chunk) error { return nil })
			var ue *UpstreamError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrUnavailable) != tc.unv {
				t.Errorf("err = %v", err)
			}
		})
	}
	// An emit error ends the call (and the SDK's reader) at once.
	stop := errors.New("client went away")
	api := newHunyuanAPI(t, func(w http.ResponseWriter, _ map[string]any) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"Choices\":[{\"Delta\":{\"Content\":\"a\"}}]}\n\ndata: {\"Choices\":[{\"Delta\":{\"Content\":\"b\"}}]}\n\n")
	})
	_, err := api.engine(creds()).Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}},
		func(Chunk) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("err = %v", err)
	}
}

func TestHunyuanNoCredentialsOrServer(t *testing.T) {
	api := newHunyuanAPI(t, func(w http.ResponseWriter, _ map[string]any) { t.Error("request sent without credentials") })
	_, err := api.engine(&fakeEnv{m: map[string]string{}}).Complete(context.Background(),
		ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), tencentcloud.SecretIDEnv) {
		t.Errorf("err = %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	e, err := NewHunyuan(HunyuanConfig{Endpoint: tencentcloud.Endpoint{Host: addr, Scheme: "http"}, Credential: tencentcloud.RoleCredential{Getenv: creds().get}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, nil)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v", err)
	}
	for _, bad := range []HunyuanConfig{{Endpoint: tencentcloud.Endpoint{Scheme: "ftp"}}, {Endpoint: tencentcloud.Endpoint{Host: "http://127.0.0.1:1"}},
		{Timeout: -time.Second}} {
		if _, err := NewHunyuan(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// One engine (one SDK client) serves concurrent requests, each signed with
// the credentials of its moment.
func TestHunyuanConcurrent(t *testing.T) {
	api := newHunyuanAPI(t, func(w http.ResponseWriter, _ map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, hunyuanAnswer)
	})
	e := api.engine(creds())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := e.Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: strconv.Itoa(i)}}}, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.seen) != 8 {
		t.Errorf("requests = %d", len(api.seen))
	}
}

func TestStopHoldback(t *testing.T) {
	tests := []struct {
		name   string
		stop   []string
		deltas []string
		finish string
		want   []string // sent after each delta; the last also holds what end sent
	}{
		{"no stop sequences", nil, []string{"ab", "END"}, "stop", []string{"ab", "END"}},
		{"stop sequence in one delta", []string{"END"}, []string{"Hello ", "END"}, "stop", []string{"Hello ", ""}},
		{"stop sequence split over deltas", []string{"END"}, []string{"Hello E", "N", "D"}, "stop", []string{"Hello ", "", ""}},
		{"a prefix that was not one", []string{"END"}, []string{"Hello E", "ast"}, "length", []string{"Hello ", "East"}},
		{"held text sent at a length finish", []string{"END"}, []string{"Hello EN"}, "length", []string{"Hello EN"}},
		{"the longest of several", []string{"D", "END"}, []string{"xEN", "D"}, "stop", []string{"x", ""}},
		{"multi-byte stop", []string{"。"}, []string{"你好", "。"}, "stop", []string{"你好", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := stopHoldback{stop: tt.stop}
			var got []string
			for i, d := range tt.deltas {
				out := h.next(d)
				if i == len(tt.deltas)-1 {
					out += h.end(tt.finish)
				}
				got = append(got, out)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
		})
	}
}

// Sampling settings and stop sequences reach Hunyuan, and its answers
// leave out the stop sequence it met, as OpenAI's do, streamed or not.
func TestHunyuanSamplingAndStop(t *testing.T) {
	stream := []string{
		`{"Id":"hy-s","Created":5,"Choices":[{"Index":0,"Delta":{"Role":"assistant","Content":"Hello E"}}]}`,
		`{"Id":"hy-s","Created":5,"Choices":[{"Index":0,"Delta":{"Content":"ND"},"FinishReason":"stop"}],"Usage":{"PromptTokens":3,"CompletionTokens":3,"TotalTokens":6}}`,
	}
	api := newHunyuanAPI(t, func(w http.ResponseWriter, body map[string]any) {
		if body["Stream"] != true {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"Response":{"Id":"hy-1","Created":1,"Choices":[{"Index":0,"Message":{"Role":"assistant","Content":"Hello END"},"FinishReason":"stop"}],"Usage":{"PromptTokens":3,"CompletionTokens":3,"TotalTokens":6},"RequestId":"r"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range stream {
			fmt.Fprintf(w, "data: %s\n\n", ev)
		}
	})
	temp, topP := 0.3, 0.9
	req := ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}, Temperature: &temp, TopP: &topP, Stop: Stop{"END", "STOP"}}
	e := api.engine(creds())
	res, err := e.Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Choices[0]; c.Message.Content != "Hello " || c.FinishReason != "stop" {
		t.Errorf("answer %q (%s), want %q (stop)", c.Message.Content, c.FinishReason, "Hello ")
	}
	body := api.last().body
	if body["Temperature"] != 0.3 || body["TopP"] != 0.9 || !reflect.DeepEqual(body["Stop"], []any{"END", "STOP"}) {
		t.Errorf("request = %v", body)
	}

	req.Stream = true
	var sent strings.Builder
	res, err = e.Complete(context.Background(), req, func(c Chunk) error {
		sent.WriteString(c.Choices[0].Delta.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sent.String() != "Hello " || res.Choices[0].Message.Content != "Hello " {
		t.Errorf("stream sent %q, answer %q; want %q", sent.String(), res.Choices[0].Message.Content, "Hello ")
	}
}

// Tools reach Hunyuan in its terms (Tools, CustomTool for a named
// function, a tool message's ToolCallId, an assistant's ToolCalls), and
// its calls come back as OpenAI's, whole or streamed delta by delta.
func TestHunyuanToolCalls(t *testing.T) {
	stream := []string{
		`{"Id":"hy-t","Created":5,"Choices":[{"Index":0,"Delta":{"Role":"assistant","ToolCalls":[{"Id":"call_9","Type":"function","Index":0,"Function":{"Name":"get_weather","Arguments":"{\"city\":"}}]}}]}`,
		`{"Id":"hy-t","Created":5,"Choices":[{"Index":0,"Delta":{"ToolCalls":[{"Index":0,"Function":{"Arguments":"\"Shenzhen\"}"}}]},"FinishReason":"tool_calls"}],"Usage":{"PromptTokens":3,"CompletionTokens":9,"TotalTokens":12}}`,
	}
	api := newHunyuanAPI(t, func(w http.ResponseWriter, body map[string]any) {
		if body["Stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range stream {
				fmt.Fprintf(w, "data: %s\n\n", ev)
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Response":{"Id":"hy-1","Created":1,"Choices":[{"Index":0,"Message":{"Role":"assistant","Content":"",`+
			`"ToolCalls":[{"Id":"call_9","Type":"function","Function":{"Name":"get_weather","Arguments":"{\"city\":\"Shenzhen\"}"}}]},`+
			`"FinishReason":"tool_calls"}],"Usage":{"PromptTokens":3,"CompletionTokens":9,"TotalTokens":12},"RequestId":"r"}}`)
	})
	weather := Tool{Type: "function", Function: ToolFunction{Name: "get_weather", Description: json.RawMessage(`"the weather"`),
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}
	req := ChatRequest{Tools: []Tool{weather, {Type: "function", Function: ToolFunction{Name: "get_time"}}},
		ToolChoice: json.RawMessage(`{"type":"function","function":{"name":"get_weather"}}`),
		Messages: []Message{{Role: "user", Content: "weather?"},
			{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]`)},
			{Role: "tool", ToolCallID: "call_1", Content: "sunny"}}}
	e := api.engine(creds())
	res, err := e.Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := `[{"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Shenzhen\"}"}}]`
	if c := res.Choices[0]; c.FinishReason != "tool_calls" || string(c.Message.ToolCalls) != wantCalls {
		t.Errorf("answer %+v, calls %s", c, c.Message.ToolCalls)
	}
	body := api.last().body
	wantTools := []any{
		map[string]any{"Type": "function", "Function": map[string]any{"Name": "get_weather", "Description": "the weather",
			"Parameters": `{"type":"object","properties":{"city":{"type":"string"}}}`}},
		map[string]any{"Type": "function", "Function": map[string]any{"Name": "get_time", "Parameters": emptyParameters}},
	}
	if !reflect.DeepEqual(body["Tools"], wantTools) || body["ToolChoice"] != "custom" ||
		!reflect.DeepEqual(body["CustomTool"], wantTools[0]) {
		t.Errorf("tools sent: %v, choice %v, custom %v", body["Tools"], body["ToolChoice"], body["CustomTool"])
	}
	msgs, _ := body["Messages"].([]any)
	if len(msgs) != 3 {
		t.Fatalf("messages %v", body["Messages"])
	}
	assistant, tool := msgs[1].(map[string]any), msgs[2].(map[string]any)
	if _, ok := assistant["Content"]; ok || !strings.Contains(fmt.Sprint(assistant["ToolCalls"]), "call_1") ||
		tool["Role"] != "tool" || tool["ToolCallId"] != "call_1" {
		t.Errorf("messages sent: %v", msgs)
	}

	req.Stream = true
	var deltas []string
	res, err = e.Complete(context.Background(), req, func(c Chunk) error {
		deltas = append(deltas, string(c.Choices[0].Delta.ToolCalls))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(deltas) != 2 || !strings.Contains(deltas[0], `"index":0,"id":"call_9","type":"function"`) ||
		!strings.Contains(deltas[1], `"arguments":"\"Shenzhen\"}"`) {
		t.Errorf("deltas %q", deltas)
	}
	if c := res.Choices[0]; string(c.Message.ToolCalls) != wantCalls || c.FinishReason != "tool_calls" {
		t.Errorf("streamed answer %+v, calls %s", c, c.Message.ToolCalls)
	}
}
