package scfevent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/events"
)

// Golden events: what the Go types decode the files into, and what they
// encode to.
var (
	apigwEvent = Request{
		Headers: map[string]string{"accept": "*/*", "content-type": "application/json", "endpoint-timeout": "15",
			"host": "service-localscf.gz.apigw.tencentcs.com", "x-anonymous-consumer": "true", "x-qualifier": "$LATEST"},
		HTTPMethod:  "POST",
		Path:        "/v1/chat/completions",
		QueryString: Query{"debug": true, "tag": []any{"a", "b"}, "v": "1 2"},
		Body:        `{"model":"m","x":"<&>"}`,
		APIGateway: &APIGateway{
			RequestContext: &RequestContext{ServiceID: "service-localscf", Path: "/", HTTPMethod: "ANY",
				RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", SourceIP: "10.0.2.14", Stage: "release"},
		},
	}
	functionURLEvent = Request{
		Headers: map[string]string{"accept": "*/*", "content-type": "text/plain; charset=utf-8",
			"host": "1250000000-abcdefgh.ap-guangzhou.tencentscf.com", "x-scf-remote-addr": "111.206.96.145"},
		HTTPMethod:  "POST",
		Path:        "/",
		QueryString: Query{"a": "1", "b": "2"},
		Body:        "héllo",
	}
	integrationResponse = Response{StatusCode: 201,
		Headers: map[string]string{"Content-Type": "application/json", "X-Backend": "scf"}, Body: `{"id":7}`}
)

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

func TestGoldenRequests(t *testing.T) {
	tests := []struct {
		file string
		want Request
	}{
		{"apigw_event.json", apigwEvent},
		{"function_url_event.json", functionURLEvent},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := golden(t, tt.file)
			got, err := ParseRequest(file)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("decoded\n got  %+v\n want %+v", *got, tt.want)
			}
			enc, err := tt.want.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, file) {
				t.Errorf("encoded\n got  %s\n want %s", enc, file)
			}
			var lib events.APIGatewayRequest // what a Go function decodes
			if err := json.Unmarshal(file, &lib); err != nil || lib.Method != tt.want.HTTPMethod || lib.Body != tt.want.Body {
				t.Errorf("scf-go-lib reads %+v (%v)", lib, err)
			}
		})
	}
}

// TestGoldenBuilt builds the golden events from the HTTP requests they
// stand for, as localcloud's front door does.
func TestGoldenBuilt(t *testing.T) {
	apigwReq := httptest.NewRequest("POST", "http://service-localscf.gz.apigw.tencentcs.com/api/v1/chat/completions?v=1+2&tag=a&debug&tag=b",
		strings.NewReader(apigwEvent.Body))
	apigwReq.Header = http.Header{"Accept": {"*/*"}, "Content-Type": {"application/json"}, "X-Qualifier": {"spoofed"}}
	apigwReq.RemoteAddr = "10.0.2.14:51000"
	trigger := &APIGatewayTrigger{ServiceID: "service-localscf", APIPath: "/", APIMethod: "ANY", Stage: "release",
		Qualifier: "$LATEST", EndpointTimeout: 15 * time.Second}
	urlReq := httptest.NewRequest("POST", "http://1250000000-abcdefgh.ap-guangzhou.tencentscf.com/?a=1&b=2", nil)
	urlReq.Header = http.Header{"Accept": {"*/*"}, "Content-Type": {"text/plain; charset=utf-8"}, "X-Scf-Remote-Addr": {"6.6.6.6"}}
	urlReq.RemoteAddr = "111.206.96.145:40000"
	tests := []struct {
		file string
		ev   *Request
	}{
		{"apigw_event.json", NewAPIGatewayEvent(apigwReq, "/v1/chat/completions", []byte(apigwEvent.Body),
			"c6af9ac6-7b61-11e6-9a41-93e8deadbeef", trigger)},
		{"function_url_event.json", NewFunctionURLEvent(urlReq, "/", []byte("héllo"))},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := tt.ev.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if want := golden(t, tt.file); !bytes.Equal(got, want) {
				t.Errorf("built\n got  %s\n want %s", got, want)
			}
		})
	}
}

func TestGoldenResponse(t *testing.T) {
	file := golden(t, "response.json")
	var got Response
	if err := json.Unmarshal(file, &got); err != nil || !reflect.DeepEqual(got, integrationResponse) {
		t.Errorf("decoded %+v (%v), want %+v", got, err, integrationResponse)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", "scf")
		w.Header().Set("Content-Length", "8")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":7}`))
	})
	out, err := Adapter{Handler: h}.Invoke(context.Background(), golden(t, "function_url_event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, file) {
		t.Errorf("adapter answered\n %s\nwant\n %s", out, file)
	}
	resp, err := ParseResponse(file)
	want := &HTTPResponse{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}, "X-Backend": {"scf"}},
		Body: []byte(`{"id":7}`)}
	if err != nil || !reflect.DeepEqual(resp, want) {
		t.Errorf("ParseResponse = %+v (%v), want %+v", resp, err, want)
	}
}

func TestParameters(t *testing.T) {
	tests := []struct {
		in      string
		want    Parameters
		wantOut string
		wantErr bool
	}{
		{in: `{}`, want: nil, wantOut: `{}`},
		{in: ` { } `, want: nil, wantOut: `{}`},
		{in: `null`, want: nil, wantOut: `{}`},
		{in: `{"path":"value","a":"<&>"}`, want: Parameters{"path": "value", "a": "<&>"}, wantOut: `{"a":"<&>","path":"value"}`},
		{in: `{"a":1}`, wantErr: true},
		{in: `[]`, wantErr: true},
	}
	for _, tt := range tests {
		var ev APIGateway
		err := json.Unmarshal([]byte(`{"pathParameters":`+tt.in+`}`), &ev)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if !reflect.DeepEqual(ev.PathParameters, tt.want) {
			t.Errorf("%s decoded as %#v, want %#v", tt.in, ev.PathParameters, tt.want)
		}
		out, err := marshal(ev.PathParameters)
		if err != nil || string(out) != tt.wantOut {
			t.Errorf("%s encoded as %s (%v), want %s", tt.in, out, err, tt.wantOut)
		}
	}
}
