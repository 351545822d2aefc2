package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/scfgate/scfgate/chatreq"
)

// Token limits.
//
// A token limit is a bucket holding a minute's tokens (Limits.GlobalTokens,
// Limits.PerKeyTokens, Key.TokensPerMinute), refilled continuously, kept
// as GCRA (a theoretical arrival time) like the shared request buckets.
// Counting tokens after the response, as most gateways do, lets a
// concurrent burst through whole: every request of the burst sees the
// bucket before any of them is charged. So admission reserves each
// request's worst case, in the same decision as its request buckets:
//
//   - prompt tokens: the gateway has no tokenizer, so it reserves
//     PromptEstimate of the whole request body as sent: an ASCII byte a
//     quarter token, any other byte half a token, a four-byte character
//     four tokens. English prose takes 4.5 to 5.5 bytes a token in common
//     tokenizers. A CJK, kana or Hangul character is three bytes, 1.5
//     tokens here, where prose takes about 1.2 tokens a character in GPT's
//     cl100k (no more in Hunyuan, whose vocabulary is cl100k's with
//     Chinese added), 1.4 in Llama 2, and one or less in o200k, Llama 3
//     and Qwen; a two-byte character (Cyrillic, Greek, Arabic, Hebrew)
//     under one; a JSON-escaped character (\uXXXX) costs 1.5 like the
//     raw one. With the JSON syntax and the other parameters on top, the
//     estimate is an upper bound of a prose prompt in these scripts and
//     tokenizers. Text denser in tokens than prose can exceed it: source
//     code and long digit strings (two or three bytes a token, a digit a
//     token in Qwen and Llama 2), runs of rare characters that a
//     tokenizer spells byte by byte (up to a token a byte), and Llama 2's
//     small vocabulary on Korean or Arabic; settlement then charges the
//     difference after the fact;
//   - completion tokens: max_completion_tokens, else max_tokens, else the
//     model's max_output_tokens; a request with none of them reserves no
//     completion tokens (the model's own bound is unknown) and is charged
//     its real usage when it ends.
//
// When the answer ends, the reservation is settled on its usage: the
// response's "usage" object, or a stream's last usage chunk. Streams are
// sent upstream with stream_options.include_usage set; the usage chunk
// is kept from the client that did not ask for it. An answer without
// usage keeps its reservation (an interrupted stream used tokens the
// gateway cannot count); an upstream error gives it all back.
//
// So the tokens admitted in any minute are at most the limit plus the
// refill, whatever the concurrency; settlement only ever returns tokens,
// except for the prompts above that exceed their estimate. A request
// whose reservation alone exceeds a limit could never be admitted: it is
// refused at once, as OpenAI refuses a request larger than a
// tokens-per-minute limit (429, "Request too large", no Retry-After).

// TokenCost is a request's tokens: what admission reserves, or what the
// answer's usage says.
type TokenCost struct {
	// Total is prompt + completion tokens.
	Total int
	// Output is completion tokens.
	Output int
}

// PromptEstimate is the prompt tokens admission reserves for a request
// body (see Token limits), counted in quarter tokens: an ASCII byte one,
// any other byte two, and a four-byte character's first byte ten (with
// its three continuation bytes, four tokens); rounded up. It is at least
// ceil(len(body)/4) and, for valid UTF-8, at most len(body).
func PromptEstimate(body []byte) int {
	q := 0
	for _, c := range body {
		switch {
		case c < 0x80:
			q++
		case c < 0xF0:
			q += 2
		default:
			q += 10
		}
	}
	return (q + 3) / 4
}

// reservation is the worst case of a request for model m.
func reservation(body []byte, f *chatreq.Fields, m *Model) TokenCost {
	out := f.Output()
	if out == 0 {
		out = int64(m.MaxOutputTokens)
	}
	return TokenCost{Total: PromptEstimate(body) + int(out), Output: int(out)}
}

// gcra is one token bucket kept as its theoretical arrival time: the
// bucket is full when tat <= now, and each token moves tat on by the
// emission interval (a minute / the limit). It is not safe for
// concurrent use (LocalLimiter's lock guards it).
type gcra struct{ tat time.Time }

// interval is the time one token takes to come back at perMinute.
func interval(perMinute int) float64 { return float64(time.Minute) / float64(perMinute) }

// check tells the bucket's new tat and wait if it gave cost tokens at
// now, and whether that wait is within maxWait. A limit of 0 is off.
func (b *gcra) check(now time.Time, cost, perMinute int, maxWait time.Duration) (tat time.Time, wait time.Duration, ok bool) {
	t := interval(perMinute)
	cur := b.tat
	if cur.Before(now) {
		cur = now
	}
	tat = cur.Add(time.Duration(float64(cost) * t))
	wait = tat.Sub(now) - time.Duration(float64(perMinute)*t)
	return tat, max(wait, 0), wait <= maxWait
}

// state is the bucket's TokenState at now.
func (b *gcra) state(now time.Time, perMinute int) TokenState {
	ahead := max(b.tat.Sub(now), 0)
	rem := perMinute - int(math.Ceil(float64(ahead)/interval(perMinute)))
	return TokenState{Limit: perMinute, Remaining: max(rem, 0), Reset: ahead}
}

// add moves the bucket by n tokens (negative: gives them back); a limit
// of 0 is off.
func (b *gcra) add(now time.Time, n, perMinute int) {
	if perMinute <= 0 || n == 0 {
		return
	}
	cur := b.tat
	if cur.Before(now) {
		cur = now
	}
	b.tat = cur.Add(time.Duration(float64(n) * interval(perMinute)))
}

// tokenTake is an admission by the token buckets.
type tokenTake struct {
	state TokenState
	delay time.Duration
}

// Token scopes, as Decision.Scope names them.
const (
	scopeGlobalTokens = "global_tokens"
	scopeKeyTokens    = "key_tokens"
	scopeGlobalOutput = "global_output_tokens"
	scopeKeyOutput    = "key_output_tokens"
)

// takeTokens takes cost from the global buckets g (limits gl) and the
// key's k (limits kl, nil when the key has none), all or nothing.
func takeTokens(now time.Time, g *[2]gcra, gl TokenLimit, k *[2]gcra, kl TokenLimit, cost TokenCost, maxWait time.Duration) (tokenTake, Decision, bool) {
	type slot struct {
		b     *gcra
		limit int
		cost  int
		scope string
		tat   time.Time
	}
	slots := [4]slot{{&g[0], gl.PerMinute, cost.Total, scopeGlobalTokens, time.Time{}},
		{nil, kl.PerMinute, cost.Total, scopeKeyTokens, time.Time{}},
		{&g[1], gl.OutputPerMinute, cost.Output, scopeGlobalOutput, time.Time{}},
		{nil, kl.OutputPerMinute, cost.Output, scopeKeyOutput, time.Time{}}}
	if k != nil {
		slots[1].b, slots[3].b = &k[0], &k[1]
	}
	var t tokenTake
	for i := range slots {
		s := &slots[i]
		if s.b == nil || s.limit <= 0 {
			continue
		}
		tat, wait, ok := s.b.check(now, s.cost, s.limit, maxWait)
		if !ok {
			st := s.b.state(now, s.limit)
			return t, Decision{Scope: s.scope, RetryAfter: wait, Tokens: st}, false
		}
		s.tat = tat
		t.delay = max(t.delay, wait)
	}
	// The reported bucket: the key's total, else the global total, else
	// the output buckets in the same order.
	reported := -1
	for _, i := range [...]int{1, 0, 3, 2} {
		s := &slots[i]
		if s.b == nil || s.limit <= 0 {
			continue
		}
		s.b.tat = s.tat
		if reported < 0 {
			reported = i
		}
	}
	if reported >= 0 {
		t.state = slots[reported].b.state(now, slots[reported].limit)
	}
	return t, Decision{}, true
}

// undoTokens gives cost back after takeTokens, when a request bucket
// refused.
func undoTokens(now time.Time, g *[2]gcra, gl TokenLimit, k *[2]gcra, kl TokenLimit, cost TokenCost) {
	g[0].add(now, -cost.Total, gl.PerMinute)
	g[1].add(now, -cost.Output, gl.OutputPerMinute)
	if k != nil {
		k[0].add(now, -cost.Total, kl.PerMinute)
		k[1].add(now, -cost.Output, kl.OutputPerMinute)
	}
}

// tokenUse is a request's token accounting, in its requestState: what
// admission reserved and what the answer says it used.
type tokenUse struct {
	reserved TokenCost // what Admit took
	keyLimit TokenLimit
	// strip keeps the usage chunk the gateway asked for from a client
	// that did not; skipBlank drops the blank line ending that chunk.
	strip, skipBlank bool
	seen             bool // usage was read from the answer
	used             TokenCost
	prompt           int // the usage's prompt_tokens (used.Total may count more)
	// body is a non-streamed answer, as relay kept it; whole tells that
	// it is all of the answer (not cut at maxCapture).
	body  *[]byte
	whole bool
}

// maxCapture bounds the non-streamed answer kept to read its usage: a
// chat completion is far smaller.
const maxCapture = 8 << 20

// apiUsage is OpenAI's usage object.
type apiUsage struct {
	PromptTokens     int  `json:"prompt_tokens"`
	CompletionTokens int  `json:"completion_tokens"`
	TotalTokens      *int `json:"total_tokens"`
}

func (u *apiUsage) cost() TokenCost {
	total := u.PromptTokens + u.CompletionTokens
	if u.TotalTokens != nil && *u.TotalTokens > total {
		total = *u.TotalTokens
	}
	return TokenCost{Total: total, Output: u.CompletionTokens}
}

// relay copies a non-streamed answer from body to w, keeping it in a
// pooled buffer for readBodyUsage: the buffer that copies is the one that
// keeps, so the answer is copied once and the copy needs no buffer of its
// own. Each read is written at once, as io.Copy would. An answer longer
// than maxCapture is relayed whole but not kept. rerr is body's error,
// werr w's; call release after readBodyUsage.
func (t *tokenUse) relay(w io.Writer, body io.Reader) (rerr, werr error) {
	t.body = answers.Get().(*[]byte)
	b, whole := (*t.body)[:0], true
	for {
		if len(b) == cap(b) {
			if cap(b) >= maxCapture {
				b, whole = b[:0], false // go on relaying through the same buffer
			} else {
				b = append(make([]byte, 0, min(2*cap(b), maxCapture)), b...)
			}
		}
		n, err := body.Read(b[len(b):cap(b)])
		if n > 0 {
			if _, werr = w.Write(b[len(b) : len(b)+n]); werr != nil {
				break
			}
			b = b[:len(b)+n]
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	*t.body, t.whole = b, whole && rerr == nil && werr == nil
	return rerr, werr
}

// readBodyUsage reads the usage of the answer relay kept.
func (t *tokenUse) readBodyUsage() {
	if !t.whole {
		return
	}
	if u, ok := scanUsage(*t.body); ok {
		t.seen, t.used, t.prompt = true, u.cost(), u.PromptTokens
	}
}

// release gives relay's buffer back.
func (t *tokenUse) release() {
	if p := t.body; p != nil && cap(*p) <= maxPooled {
		*p = (*p)[:0]
		answers.Put(p)
	}
	t.body, t.whole = nil, false
}

// answers are relay's buffers, reused: every non-streamed answer goes
// through one, and a buffer per request (io.Copy's 32 KiB) is most of
// what the gateway allocates. Larger buffers are left to the GC.
var answers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooled = 64 << 10

// scanUsage finds a chat completion's usage object without decoding the
// whole answer: every request reads it (metrics, token limits), and
// json.Unmarshal of a whole completion costs more than the rest of the
// gateway's work on it. It takes the last "usage" member whose value is an
// object (OpenAI and the servers that copy it put usage last, after the
// choices; no other member of a completion is called usage), and its
// prompt_tokens, completion_tokens and total_tokens members. The bytes
// `"usage"` cannot occur inside a JSON string, where quotes are escaped,
// so a match is a member name or the whole string "usage", which is never
// followed by a colon.
func scanUsage(b []byte) (apiUsage, bool) {
	// Forward: bytes.Index is vectorised, bytes.LastIndex is not.
	var obj []byte
	for rest := b; ; {
		i := bytes.Index(rest, usageMember)
		if i < 0 {
			break
		}
		rest = skipSpace(rest[i+len(usageMember):])
		if len(rest) > 0 && rest[0] == ':' {
			obj = skipSpace(rest[1:])
		}
	}
	if len(obj) == 0 || obj[0] != '{' {
		return apiUsage{}, false // none, or "usage": null
	}
	obj = obj[:objectEnd(obj)]
	var u apiUsage
	u.PromptTokens, _ = intMember(obj, promptMember)
	u.CompletionTokens, _ = intMember(obj, completionMember)
	if n, ok := intMember(obj, totalMember); ok {
		u.TotalTokens = &n
	}
	return u, true
}

var (
	promptMember     = []byte(`"prompt_tokens"`)
	completionMember = []byte(`"completion_tokens"`)
	totalMember      = []byte(`"total_tokens"`)
)

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// objectEnd is the length of the JSON object that b starts with (all of
// b when it does not end).
func objectEnd(b []byte) int {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(b)
}

// intMember reads the non-negative integer member name of obj. Names in
// the nested details objects (cached_tokens, reasoning_tokens, ...) do not
// collide with usage's own.
func intMember(obj, name []byte) (int, bool) {
	i := bytes.Index(obj, name)
	if i < 0 {
		return 0, false
	}
	rest := skipSpace(obj[i+len(name):])
	if len(rest) == 0 || rest[0] != ':' {
		return 0, false
	}
	rest = skipSpace(rest[1:])
	n, digits := 0, 0
	for ; digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' && digits < 18; digits++ {
		n = n*10 + int(rest[digits]-'0')
	}
	return n, digits > 0
}

var usageMember = []byte(`"usage"`)

// streamLine reads the usage of one SSE line and tells whether the line
// is to be kept from the client: the usage-only chunk (no choices) that
// the gateway asked for, and the blank line that ends it. Later usage
// wins: some upstreams (Hunyuan) send the running usage in every chunk.
func (t *tokenUse) streamLine(line []byte) (drop bool) {
	if t.skipBlank && len(line) <= 2 && (line[0] == '\n' || line[0] == '\r') {
		t.skipBlank = false
		return true
	}
	t.skipBlank = false
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok || !bytes.Contains(data, usageMember) {
		return false
	}
	var chunk struct {
		Choices []json.RawMessage `json:"choices"`
		Usage   *apiUsage         `json:"usage"`
	}
	if json.Unmarshal(data, &chunk) != nil || chunk.Usage == nil {
		return false
	}
	t.seen, t.used, t.prompt = true, chunk.Usage.cost(), chunk.Usage.PromptTokens
	if t.strip && len(chunk.Choices) == 0 {
		t.skipBlank = true
		return true
	}
	return false
}

// withUsage returns body with stream_options.include_usage true, and
// whether the client had asked for it.
func withUsage(body []byte) ([]byte, bool, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, false, err
	}
	opts := map[string]json.RawMessage{}
	if raw, ok := obj["stream_options"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &opts); err != nil {
			return nil, false, err
		}
	}
	asked := string(bytes.TrimSpace(opts["include_usage"])) == "true"
	if asked {
		return body, true, nil
	}
	opts["include_usage"] = json.RawMessage("true")
	obj["stream_options"], _ = json.Marshal(opts)
	out, err := json.Marshal(obj)
	return out, false, err
}

// tokenLimitsOn tells whether any token limit is configured.
func tokenLimitsOn(c *Config) bool {
	if c.Limits.GlobalTokens.On() || c.Limits.PerKeyTokens.On() {
		return true
	}
	for _, k := range c.Keys {
		if k.TokensPerMinute > 0 || k.OutputTokensPerMinute > 0 {
			return true
		}
	}
	return false
}

// keyTokenLimit is key's token limit: its own, else Limits.PerKeyTokens.
func keyTokenLimit(k Key, l Limits) TokenLimit {
	t := l.PerKeyTokens
	if k.TokensPerMinute > 0 {
		t.PerMinute = k.TokensPerMinute
	}
	if k.OutputTokensPerMinute > 0 {
		t.OutputPerMinute = k.OutputTokensPerMinute
	}
	return t
}

// admitTokens reserves the request's worst case (with its request
// buckets, which shape left to it); the usage is read for every request
// (chat). It returns the body to forward, or false when it has answered.
func (g *Gateway) admitTokens(w http.ResponseWriter, r *http.Request, st *requestState, m *Model, f *chatreq.Fields, body []byte) ([]byte, bool) {
	t := &st.use
	t.keyLimit = g.cfg.Limits.PerKeyTokens
	if st.key != "" {
		t.keyLimit = st.keyTokens
	}
	t.reserved = reservation(body, f, m)
	if big, ok := tooLarge(t.reserved, g.cfg.Limits.GlobalTokens, t.keyLimit); ok {
		g.refuseTooLarge(w, st, m, big)
		return nil, false
	}
	key, bucket := st.key, g.cfg.Limits.PerKey
	if key != "" {
		bucket = st.bucket
	}
	d := g.limiter.Admit(g.now(), key, bucket, t.keyLimit, t.reserved, g.cfg.Limits.MaxWait)
	if !g.applyDecision(w, r, st, d) {
		return nil, false // nothing was reserved
	}
	st.tok = t
	return body, true
}

// oversize is a token limit that one request's worst case exceeds alone.
type oversize struct {
	scope            string
	limit, requested int
	reserved         TokenCost
}

// tooLarge finds a token limit (the key's, then the gateway's; total
// tokens, then output tokens) smaller than the request's reservation.
// No wait would ever admit such a request, so it is refused at once and
// told why, rather than sent to retry a 429 that cannot pass.
func tooLarge(cost TokenCost, global, key TokenLimit) (oversize, bool) {
	for _, c := range [...]struct {
		scope       string
		limit, cost int
	}{
		{scopeKeyTokens, key.PerMinute, cost.Total},
		{scopeGlobalTokens, global.PerMinute, cost.Total},
		{scopeKeyOutput, key.OutputPerMinute, cost.Output},
		{scopeGlobalOutput, global.OutputPerMinute, cost.Output},
	} {
		if c.limit > 0 && c.cost > c.limit {
			return oversize{scope: c.scope, limit: c.limit, requested: c.cost, reserved: cost}, true
		}
	}
	return oversize{}, false
}

// refuseTooLarge answers a request larger than a token limit as OpenAI
// answers one larger than an organisation's tokens per minute: 429,
// "Request too large", the limit and what was requested, and no
// Retry-After, since waiting does not help.
func (g *Gateway) refuseTooLarge(w http.ResponseWriter, st *requestState, m *Model, big oversize) {
	st.limitScope = big.scope
	g.metrics.shapedBy(big.scope)
	w.Header()[hLimitTokens] = []string{strconv.Itoa(big.limit)}
	what, of := "tokens per min (TPM)", "this API key"
	if big.scope == scopeGlobalOutput || big.scope == scopeKeyOutput {
		what = "output tokens per min"
	}
	if big.scope == scopeGlobalTokens || big.scope == scopeGlobalOutput {
		of = "this gateway"
	}
	msg := fmt.Sprintf("Request too large for %s on %s of %s: Limit %d, Requested %d (up to %d prompt tokens, estimated, and %d completion tokens). "+
		"Shorten the messages or lower max_completion_tokens.",
		m.Name, what, of, big.limit, big.requested, big.reserved.Total-big.reserved.Output, big.reserved.Output)
	writeError(w, http.StatusTooManyRequests, errRateLimit, msg, "", "rate_limit_exceeded")
}

// settleTokens replaces the reservation by the answer's usage: all of it
// back when the upstream answered nothing or an error, the reservation
// kept when the answer had no usage.
func (g *Gateway) settleTokens(st *requestState, answered bool) {
	t := st.tok
	if t == nil {
		return
	}
	st.tok = nil
	switch {
	case !answered:
		g.limiter.Settle(g.now(), st.key, t.keyLimit, t.reserved, TokenCost{})
	case t.seen:
		g.limiter.Settle(g.now(), st.key, t.keyLimit, t.reserved, t.used)
	}
}

// Canonical names of OpenAI's rate-limit headers.
const (
	hLimitRequests     = "X-Ratelimit-Limit-Requests"
	hRemainingRequests = "X-Ratelimit-Remaining-Requests"
	hResetRequests     = "X-Ratelimit-Reset-Requests"
	hLimitTokens       = "X-Ratelimit-Limit-Tokens"
	hRemainingTokens   = "X-Ratelimit-Remaining-Tokens"
	hResetTokens       = "X-Ratelimit-Reset-Tokens"
)

// setOpenAIHeaders sets OpenAI's x-ratelimit-* headers of d: the request
// bucket's and the token bucket's, each when it is limited. Resets are
// durations as OpenAI writes them ("1s", "6m0s", "20ms").
func setOpenAIHeaders(h http.Header, d Decision) {
	if d.Limit > 0 {
		h[hLimitRequests] = []string{strconv.Itoa(d.Limit)}
		h[hRemainingRequests] = []string{strconv.Itoa(d.Remaining)}
		h[hResetRequests] = []string{openAIDuration(d.Reset)}
	}
	if t := d.Tokens; t.Limit > 0 {
		h[hLimitTokens] = []string{strconv.Itoa(t.Limit)}
		h[hRemainingTokens] = []string{strconv.Itoa(t.Remaining)}
		h[hResetTokens] = []string{openAIDuration(t.Reset)}
	}
}

func openAIDuration(d time.Duration) string {
	if d < time.Millisecond {
		return "0s"
	}
	return d.Round(time.Millisecond).String()
}
