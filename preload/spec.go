package preload

import (
	"fmt"
	"net/http"
	"strings"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// COSCredentials sign COS requests; the zero value sends unsigned
// requests (public-read buckets).
type COSCredentials struct {
	SecretID, SecretKey, SessionToken string
}

// OpenSource returns the source a spec names:
//
//   - a directory path: DirSource;
//   - http://... or https://...: HTTPSource (files listed in manifest.txt);
//   - cos://<bucket>-<appid>.cos.<region>.myqcloud.com/<prefix>: COSSource
//     over HTTPS, signed with cred; cos+http://host/prefix reaches a local
//     server speaking the COS API over plain HTTP.
//
// hc sends HTTP and COS requests; nil means a default client.
func OpenSource(spec string, hc *http.Client, cred COSCredentials) (Source, error) {
	switch {
	case spec == "":
		return nil, fmt.Errorf("preload: empty source")
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		return &HTTPSource{Base: spec, Client: hc}, nil
	case strings.HasPrefix(spec, "cos://"), strings.HasPrefix(spec, "cos+http://"):
		scheme, rest := "https", strings.TrimPrefix(spec, "cos://")
		if strings.HasPrefix(spec, "cos+http://") {
			scheme, rest = "http", strings.TrimPrefix(spec, "cos+http://")
		}
		host, prefix, _ := strings.Cut(rest, "/")
		if hc == nil {
			hc = &http.Client{}
		}
		if cred.SecretID != "" {
			base := hc.Transport
			hc = &http.Client{Timeout: hc.Timeout, Transport: &cos.AuthorizationTransport{
				SecretID: cred.SecretID, SecretKey: cred.SecretKey, SessionToken: cred.SessionToken, Transport: base}}
		}
		return NewCOSSource(scheme+"://"+host, prefix, hc)
	default:
		return DirSource{Root: spec}, nil
	}
}
