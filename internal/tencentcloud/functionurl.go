package tencentcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
)

// Function URLs (583/96099, 583/96100).
//
// A Function URL is an SCF trigger of type "http". With AuthType "CAM" the
// caller signs each request and needs scf:InvokeFunctionUrl on the
// function; with "NONE" anyone may call it.
//
// Assumptions, where Tencent's documents are silent:
//   - The signature is TC3-HMAC-SHA256 over the HTTP request as sent to
//     the URL (method, path, query, content-type and host headers, body
//     hash), with service FunctionURLService, as the documented sample
//     signs API calls; the session token travels in X-TC-Token.
//   - ListTriggers describes a Function URL trigger with TriggerDesc, a
//     JSON object: the creation input (AuthType, NetConfig) plus the URLs
//     (InternetUrl, IntranetUrl), as [FunctionURLTrigger] reads it. A
//     configured URL overrides the lookup wherever one is needed.
const (
	// FunctionURLTriggerType is the trigger type of a Function URL.
	FunctionURLTriggerType = "http"
	// FunctionURLService is the service name in the signature's scope.
	FunctionURLService = "scf"
	// AuthTypeCAM and AuthTypeNone are a Function URL's AuthType values.
	AuthTypeCAM  = "CAM"
	AuthTypeNone = "NONE"
)

// FunctionURLTrigger is the TriggerDesc of a Function URL trigger.
type FunctionURLTrigger struct {
	AuthType  string `json:"AuthType"`
	NetConfig struct {
		EnableIntranet bool `json:"EnableIntranet"`
		EnableExtranet bool `json:"EnableExtranet"`
	} `json:"NetConfig"`
	// InternetUrl and IntranetUrl are the URLs SCF assigned; empty when
	// that network is disabled.
	InternetUrl string `json:"InternetUrl,omitempty"`
	IntranetUrl string `json:"IntranetUrl,omitempty"`
}

// ParseFunctionURLTrigger reads a Function URL trigger's TriggerDesc.
func ParseFunctionURLTrigger(desc string) (FunctionURLTrigger, error) {
	var t FunctionURLTrigger
	if err := json.Unmarshal([]byte(desc), &t); err != nil {
		return FunctionURLTrigger{}, fmt.Errorf("tencentcloud: Function URL trigger description: %w", err)
	}
	return t, nil
}

// SignFunctionURLRequest signs r, a call to a CAM-authenticated Function
// URL whose body is body (the exact bytes r sends; the caller has them,
// so the body is not read again), with cred as it stands now (role
// credentials are read at each call).
func SignFunctionURLRequest(r *http.Request, body []byte, cred common.CredentialIface, now time.Time) error {
	id, key, token := cred.GetCredential()
	if id == "" || key == "" {
		return ErrNoCredentials
	}
	return tc3.Sign(r, body, FunctionURLService, tc3.Credential{SecretID: id, SecretKey: key, Token: token}, now)
}
