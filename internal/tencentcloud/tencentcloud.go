// Package tencentcloud is the one place where scfgate's functions and
// commands get what a Tencent Cloud SDK client needs: the role
// credentials SCF hands a function, read again at every signature, the
// region, and the client profile, pointed at another API endpoint when
// SCFGATE_TENCENTCLOUD_ENDPOINT is set (localcloud sets it for every
// function it starts).
//
// SCF passes an execution role's temporary credentials as
// TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and
// TENCENTCLOUD_SESSIONTOKEN and refreshes them while an instance lives;
// the SDK's own environment provider reads other names
// (TENCENTCLOUD_SECRET_ID) and no token, so it cannot be used.
package tencentcloud

import (
	"errors"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// Environment variables read by this package.
const (
	SecretIDEnv     = "TENCENTCLOUD_SECRETID"
	SecretKeyEnv    = "TENCENTCLOUD_SECRETKEY"
	SessionTokenEnv = "TENCENTCLOUD_SESSIONTOKEN"
	// RegionEnv is the function's region, set by SCF.
	RegionEnv = "TENCENTCLOUD_REGION"
	// EndpointEnv (host[:port]) and SchemeEnv ("http" or "https", default
	// https) send every API call to another endpoint, as localcloud does.
	EndpointEnv = "SCFGATE_TENCENTCLOUD_ENDPOINT"
	SchemeEnv   = "SCFGATE_TENCENTCLOUD_SCHEME"
)

// DefaultRegion is used when neither a setting nor RegionEnv names one.
const DefaultRegion = "ap-guangzhou"

// ErrNoCredentials is returned by [RoleCredential.Check] when the role
// variables are empty.
var ErrNoCredentials = errors.New("no Tencent Cloud credentials: " + SecretIDEnv + " and " + SecretKeyEnv +
	" are empty (give the function an execution role)")

// RoleCredential is a common.CredentialIface that reads the role
// variables through Getenv each time the SDK signs a request, so
// credentials SCF refreshes are picked up without a restart.
type RoleCredential struct {
	// Getenv reads the environment; nil reads nothing (empty
	// credentials).
	Getenv func(string) string
}

var _ common.CredentialIface = RoleCredential{}

func (c RoleCredential) get(name string) string {
	if c.Getenv == nil {
		return ""
	}
	return strings.TrimSpace(c.Getenv(name))
}

// GetSecretId returns the SecretId.
func (c RoleCredential) GetSecretId() string { return c.get(SecretIDEnv) }

// GetSecretKey returns the SecretKey.
func (c RoleCredential) GetSecretKey() string { return c.get(SecretKeyEnv) }

// GetToken returns the session token ("" for a long-lived key).
func (c RoleCredential) GetToken() string { return c.get(SessionTokenEnv) }

// GetCredential returns the three at once.
func (c RoleCredential) GetCredential() (string, string, string) {
	return c.GetSecretId(), c.GetSecretKey(), c.GetToken()
}

// Check reports ErrNoCredentials when the SecretId or SecretKey is empty
// now. Callers that sign later should still expect a refused signature.
func (c RoleCredential) Check() error {
	if c.GetSecretId() == "" || c.GetSecretKey() == "" {
		return ErrNoCredentials
	}
	return nil
}

// Region returns configured when set, else RegionEnv, else DefaultRegion.
func Region(getenv func(string) string, configured string) string {
	if configured != "" {
		return configured
	}
	if getenv != nil {
		if r := strings.TrimSpace(getenv(RegionEnv)); r != "" {
			return r
		}
	}
	return DefaultRegion
}

// Endpoint is where API calls go: Host ("" for the product's own
// tencentcloudapi.com host) and Scheme ("http" or "https").
type Endpoint struct {
	Host   string
	Scheme string
}

// EndpointFromEnv reads EndpointEnv and SchemeEnv.
func EndpointFromEnv(getenv func(string) string) Endpoint {
	if getenv == nil {
		return Endpoint{}
	}
	return Endpoint{Host: strings.TrimSpace(getenv(EndpointEnv)), Scheme: strings.TrimSpace(getenv(SchemeEnv))}
}

// Validate rejects a scheme other than http or https and a host that
// carries its own scheme.
func (e Endpoint) Validate() error {
	switch strings.ToLower(e.Scheme) {
	case "", "http", "https":
	default:
		return errors.New("tencentcloud: scheme " + e.Scheme + ": want http or https")
	}
	if strings.Contains(e.Host, "://") {
		return errors.New("tencentcloud: endpoint " + e.Host + ": want host[:port], the scheme apart")
	}
	return nil
}

// Profile returns a new SDK client profile that sends calls to e. The SDK's
// own retries stay at their defaults; callers that retry themselves turn
// them off on the returned profile.
func (e Endpoint) Profile() *profile.ClientProfile {
	p := profile.NewClientProfile()
	if e.Host != "" {
		p.HttpProfile.Endpoint = e.Host
	}
	p.HttpProfile.Scheme = "HTTPS"
	if strings.EqualFold(e.Scheme, "http") {
		p.HttpProfile.Scheme = "HTTP"
	}
	return p
}

// Value is what an SDK field points at, or T's zero value when the field
// is absent (nil): the SDK's request and response types are all pointers.
func Value[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
