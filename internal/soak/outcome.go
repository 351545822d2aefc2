package soak

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Outcome is what one client saw of one request.
type Outcome struct {
	Kind   string // the mix entry it was sent as (mix.go)
	Key    string // the API key's name
	Stream bool
	// Sent is when it was sent, Ended when the client was done with it.
	Sent, Ended time.Time
	Deadline    time.Time
	// Status is the HTTP status, 0 when no response came.
	Status int
	// Err is the transport or read error, if any.
	Err string
	// Done: the stream ended with "data: [DONE]"; ErrorEvent: with an SSE
	// error event. Chunks counts the data lines before either.
	Done, ErrorEvent bool
	Chunks           int
	// Left: the client left on purpose, mid-stream, after a chunk.
	Left bool
	// Body is an error answer's body (at most a few KiB), or a whole
	// answer that could not be read as one.
	Body []byte
	// Param is the OpenAI error's param, when the body is one.
	Param string
	// OpenAIError: the body is an OpenAI error object with a message and
	// a type; Completion: the body is a chat completion with choices.
	OpenAIError, Completion bool
}

// Class is how an outcome counts.
type Class string

// Classes of outcomes. The first four are answers (or a client's
// choice); the rest break a property.
const (
	ClassOK           Class = "ok"             // a whole completion or stream
	ClassError        Class = "error"          // an error status with an OpenAI error body
	ClassCutWithError Class = "cut_with_error" // a stream ended by an SSE error event
	ClassLeft         Class = "left"           // the client left mid-stream on purpose
	ClassLost         Class = "lost"           // no answer, or one after the client's deadline
	ClassCutSilent    Class = "cut_silent"     // a stream that stopped without [DONE] or an error event
	ClassBadBody      Class = "bad_body"       // an error status without an OpenAI error body, or a 200 that is no completion
	ClassWrongStatus  Class = "wrong_status"   // an invalid request not refused with 400 (or 429 before validation)
)

// The invalid requests of the mix, and what they must get.
const (
	invalidKind  = "invalid"
	invalidParam = "max_tokens"
)

// Classify says how o counts. A client that left on purpose is neither
// answered nor lost; an answer that ended after the deadline is lost
// whatever it said.
func Classify(o Outcome) Class {
	switch {
	case o.Left:
		return ClassLeft
	case o.Status == 0:
		return ClassLost
	case !o.Ended.Before(o.Deadline):
		return ClassLost
	case o.Status >= 400 && !o.OpenAIError:
		return ClassBadBody
	case o.Kind == invalidKind && !(o.Status == http.StatusBadRequest && o.Param == invalidParam || o.Status == http.StatusTooManyRequests):
		return ClassWrongStatus
	case o.Status >= 400:
		return ClassError
	case o.Stream && o.Done:
		return ClassOK
	case o.Stream && o.ErrorEvent:
		return ClassCutWithError
	case o.Stream:
		return ClassCutSilent
	case o.Err != "":
		return ClassLost // a whole answer that broke off
	case !o.Completion:
		return ClassBadBody
	}
	return ClassOK
}

// inspectBody fills OpenAIError, Param and Completion from a whole body.
func (o *Outcome) inspectBody(body []byte) {
	var v struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
		} `json:"error"`
		Choices []json.RawMessage `json:"choices"`
	}
	if json.Unmarshal(body, &v) != nil {
		return
	}
	if e := v.Error; e != nil {
		o.OpenAIError = e.Message != "" && e.Type != ""
		if e.Param != nil {
			o.Param = *e.Param
		}
	}
	o.Completion = len(v.Choices) > 0
}

// Tally counts outcomes by class, by status and by kind.
type Tally struct {
	Sent     int                       `json:"sent"`
	ByClass  map[Class]int             `json:"by_class"`
	ByStatus map[string]int            `json:"by_status"` // "none" when no response came
	ByKind   map[string]map[Class]int  `json:"by_kind"`
	Examples map[Class][]ExampleReport `json:"examples,omitempty"` // the first few of each failing class
}

// ExampleReport describes one outcome that broke a property.
type ExampleReport struct {
	Kind   string `json:"kind"`
	Status int    `json:"status"`
	Err    string `json:"error,omitempty"`
	Chunks int    `json:"chunks"`
	Body   string `json:"body,omitempty"`
	Took   string `json:"took"`
}

const maxExamples = 5

// Count tallies outcomes.
func Count(outcomes []Outcome) Tally {
	t := Tally{ByClass: map[Class]int{}, ByStatus: map[string]int{}, ByKind: map[string]map[Class]int{}, Examples: map[Class][]ExampleReport{}}
	for _, o := range outcomes {
		c := Classify(o)
		t.Sent++
		t.ByClass[c]++
		status := "none"
		if o.Status != 0 {
			status = strconv.Itoa(o.Status)
		}
		t.ByStatus[status]++
		if t.ByKind[o.Kind] == nil {
			t.ByKind[o.Kind] = map[Class]int{}
		}
		t.ByKind[o.Kind][c]++
		if c.broken() && len(t.Examples[c]) < maxExamples {
			t.Examples[c] = append(t.Examples[c], ExampleReport{Kind: o.Kind, Status: o.Status, Err: o.Err, Chunks: o.Chunks,
				Body: string(o.Body[:min(len(o.Body), 300)]), Took: o.Ended.Sub(o.Sent).Round(time.Millisecond).String()})
		}
	}
	return t
}

// broken tells the classes that break a property.
func (c Class) broken() bool {
	switch c {
	case ClassLost, ClassCutSilent, ClassBadBody, ClassWrongStatus:
		return true
	}
	return false
}
