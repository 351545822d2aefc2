// Command upstream is the trivial model server of the hop benchmark
// (bench/hop.sh): it answers every POST /v1/chat/completions at once
// with the same OpenAI chat completion, usage included, so that what a
// proxy in front of it adds is all that differs between the benchmark's
// targets.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
)

// answer is the chat completion every request gets.
const answer = `{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`

func main() {
	addr := flag.String("addr", "127.0.0.1:18481", "listen address")
	flag.Parse()
	length := []string{strconv.Itoa(len(answer))}
	ctype := []string{"application/json"}
	http.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		// The request is read whole, as a model server would.
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"], h["Content-Length"] = ctype, length
		_, _ = io.WriteString(w, answer)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
