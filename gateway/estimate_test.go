package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// estimateByRune is PromptEstimate read character by character, as its
// doc states it: an ASCII byte a quarter token, any other byte a half, a
// four-byte character four tokens (bytes that are no character, as
// PromptEstimate reads them).
func estimateByRune(b []byte) int {
	q := 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1: // not UTF-8: by the byte
			q += 2
			if b[0] >= 0xF0 {
				q += 8
			}
		case n == 1:
			q++
		case n == 4:
			q += 16
		default:
			q += 2 * n
		}
		b = b[n:]
	}
	return (q + 3) / 4
}

func TestPromptEstimate(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"one byte", "a", 1},
		{"four bytes", "abcd", 1},
		{"five bytes", "abcde", 2},
		{"English", "Write a poem about rate limits.", 8}, // 31 bytes
		{"Chinese", "你好", 3},                              // 2 × 1.5
		{"Chinese, a word and more", "混元大模型是腾讯自主研发的", 20}, // 13 × 1.5
		{"Japanese", "日本語です", 8},                          // 5 × 1.5
		{"Korean", "안녕하세요", 8},                            // 5 × 1.5
		{"Cyrillic", "Привет", 6},                         // 6 × 1
		{"mixed", "hi 你好", 4},                             // 3/4 + 3
		{"emoji", "😀", 4},                                 // one token a byte
		{"emoji with a skin tone", "👍🏽", 8},               // two four-byte characters
		{"emoji across a word boundary", "abcdefg😀x", 6},  // 7/4 + 4 + 1/4
		{"JSON-escaped Chinese", `\u4f60\u597d`, 3},       // as the raw 你好
		{"JSON-escaped emoji", `\ud83d\ude00`, 3},         // 12 ASCII bytes
		// Long enough for the eight-byte lanes to be added up more than once.
		{"long Chinese", strings.Repeat("你", 3000), 4500},
		{"long emoji", strings.Repeat("😀", 1000), 4000},
		{"long not UTF-8", strings.Repeat("\xff", 4099), 10248},            // 2.5 a byte
		{"chat body", `{"messages":[{"role":"user","content":"你好"}]}`, 14}, // 43/4 + 3
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PromptEstimate([]byte(tc.text))
			if got != tc.want {
				t.Errorf("PromptEstimate(%q) = %d, want %d", tc.text, got, tc.want)
			}
			if ref := estimateByRune([]byte(tc.text)); got != ref {
				t.Errorf("PromptEstimate(%q) = %d, by the character %d", tc.text, got, ref)
			}
		})
	}
}

// TestPromptEstimateBoundsTokenizers: for prose in the scripts clients
// send, the estimate of the text alone is at least its tokens in GPT's
// cl100k and o200k, Llama 3 and Qwen 3, and the estimate of a chat body
// holding it at least those tokens plus the chat format's (OpenAI counts
// 3 a message and 3 to prime the answer). The counts are the
// tokenizers' own (tiktoken's cl100k_base and o200k_base, Meta Llama 3's
// and Qwen 3's tokenizer.json), of the text without special tokens.
// Hunyuan's vocabulary is cl100k's with Chinese added: it takes no more
// than cl100k. Four bytes a token, the rule for English, is below cl100k on
// Chinese and Japanese.
func TestPromptEstimateBoundsTokenizers(t *testing.T) {
	tests := []struct {
		name                         string
		text                         string
		cl100k, o200k, llama3, qwen3 int
	}{
		{"English", "Rate limits protect a shared model from a burst of requests. The gateway reserves each request's worst case before it forwards the request, and settles the reservation on the usage the answer reports. Write a short poem about autumn in the mountains, then explain in three sentences why serverless functions scale to zero when idle.",
			62, 62, 62, 62},
		{"Chinese", "混元大模型是腾讯自主研发的通用大语言模型，具备强大的中文创作能力、复杂语境下的逻辑推理能力以及可靠的任务执行能力。请帮我写一篇关于秋天的散文，不少于三百字，要求语言优美，意境深远，并在结尾处点明主题。另外，请解释一下什么是无服务器计算，它和传统的虚拟机部署有什么区别？在高并发的场景下，网关如何进行限流，以免后端的模型服务被突发流量压垮？",
			195, 128, 137, 103},
		{"Japanese", "東京の天気は晴れのち曇り、午後から雨が降る見込みです。サーバーレス関数はリクエストがない間はゼロまで縮小し、需要に応じて自動的にスケールします。短い俳句を三つ作ってください。季語を必ず入れること。",
			105, 81, 78, 78},
		{"Korean", "서버리스 함수는 요청이 없을 때 인스턴스를 0으로 줄이고, 수요에 따라 자동으로 확장됩니다. 가을 산에 대한 짧은 시를 써 주세요.",
			60, 44, 45, 51},
		{"Russian", "Бессерверные функции масштабируются до нуля, когда нет запросов, и автоматически растут вместе с нагрузкой. Напишите короткое стихотворение об осени в горах.",
			72, 40, 50, 54},
		{"Chinese and English", "请把下面这段 English text 翻译成中文：The gateway reserves the worst case of each request (max_tokens = 512) before forwarding it to Hunyuan-13B. 然后用 Python 写一个函数 def limit(n: int) -> bool 来判断。",
			68, 59, 61, 65},
		{"emoji", "🎉🚀✨ 今天天气真好 😀👍🏽 let's go! 🇨🇳🇺🇸 👨‍👩‍👧‍👦",
			56, 36, 51, 32},
		{"Hindi", "सर्वरलेस फ़ंक्शन अनुरोध न होने पर शून्य तक सिमट जाते हैं और मांग के अनुसार अपने आप बढ़ते हैं।",
			96, 32, 46, 91},
		{"Thai", "ฟังก์ชันแบบไร้เซิร์ฟเวอร์จะลดขนาดลงเป็นศูนย์เมื่อไม่มีคำขอ และขยายโดยอัตโนมัติตามความต้องการ",
			92, 41, 44, 52},
		{"Arabic", "تتقلص الدوال بدون خادم إلى الصفر عندما لا توجد طلبات، وتتوسع تلقائيا حسب الطلب.",
			60, 26, 31, 33},
	}
	const chatFormat = 3 + 3 // one message, and the answer's priming
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			most := max(tc.cl100k, tc.o200k, tc.llama3, tc.qwen3)
			if got := PromptEstimate([]byte(tc.text)); got < most {
				t.Errorf("text: estimate %d, below %d tokens (cl100k %d, o200k %d, Llama 3 %d, Qwen 3 %d)",
					got, most, tc.cl100k, tc.o200k, tc.llama3, tc.qwen3)
			}
			// As a client sends it, and with every non-ASCII character
			// escaped, as some JSON encoders write it.
			msg := struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			}{"user", tc.text}
			body, err := json.Marshal(map[string]any{"model": "hunyuan-turbos-latest", "max_tokens": 512, "messages": []any{msg}})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range [][]byte{body, asciiJSON(body)} {
				if got := PromptEstimate(b); got < most+chatFormat {
					t.Errorf("body: estimate %d, below %d tokens of prompt and chat format: %s", got, most+chatFormat, b)
				}
			}
		})
	}
}

// asciiJSON is body with each non-ASCII character \u-escaped (a
// surrogate pair above U+FFFF).
func asciiJSON(body []byte) []byte {
	var b strings.Builder
	for _, r := range string(body) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			b.WriteString(`\u` + hex4(0xD800+(r>>10)) + `\u` + hex4(0xDC00+(r&0x3FF)))
		default:
			b.WriteString(`\u` + hex4(r))
		}
	}
	return []byte(b.String())
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15]})
}

// FuzzPromptEstimate: the estimate is PromptEstimate's rule, read
// character by character; never below four bytes a token nor, for
// UTF-8, above a token a byte; it grows when bytes are appended, by no
// more than their own estimate; and a text's JSON string costs at least
// the text.
func FuzzPromptEstimate(f *testing.F) {
	for _, s := range []string{"", "hello", "你好，世界", "😀👍🏽", `{"messages":[{"role":"user","content":"\u4f60"}]}`,
		"\xf0\x9f", "\xff\xfe\x80", "Привет, мир", strings.Repeat("混元", 9)} {
		f.Add([]byte(s), []byte("more"))
	}
	f.Fuzz(func(t *testing.T, b, more []byte) {
		n := PromptEstimate(b)
		if ref := estimateByRune(b); n != ref {
			t.Fatalf("PromptEstimate(%q) = %d, by the character %d", b, n, ref)
		}
		if n < (len(b)+3)/4 {
			t.Fatalf("PromptEstimate(%q) = %d, below ceil(%d/4)", b, n, len(b))
		}
		if utf8.Valid(b) && n > len(b) {
			t.Fatalf("PromptEstimate(%q) = %d, above a token a byte", b, n)
		}
		joined := append(bytes.Clone(b), more...)
		if m := PromptEstimate(joined); m < n || m > n+PromptEstimate(more) {
			t.Fatalf("PromptEstimate(%q) = %d, PromptEstimate(%q) = %d, appended %d", b, n, joined, m, PromptEstimate(more))
		}
		if utf8.Valid(b) {
			s, _ := json.Marshal(string(b))
			if m := PromptEstimate(s); m < n {
				t.Fatalf("JSON string %s: estimate %d, below the text's %d", s, m, n)
			}
		}
	})
}

// BenchmarkPromptEstimate: every admitted request with a token limit
// pays for it, on a body of 4 KiB here.
func BenchmarkPromptEstimate(b *testing.B) {
	for _, tc := range []struct{ name, unit string }{
		{"English", "Write a poem about rate limits. "},
		{"Chinese", "请帮我写一篇关于秋天的散文，语言优美。"},
	} {
		body := []byte(`{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat(tc.unit, 4096/len(tc.unit)))
		body = append(body[:min(len(body), 4096-3)], `"}]`...)
		for !utf8.Valid(body) { // a cut character: an ASCII byte instead
			body = append(body[:len(body)-4], `x"}]`...)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			n := 0
			for b.Loop() {
				n += PromptEstimate(body)
			}
			if n < 0 {
				b.Fatal(n)
			}
		})
	}
}
