package promwrite

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config is where and how often to push. Its mapstructure tags are the
// keys under the gateway's remote_write section
// (SCFGATE_GATEWAY_REMOTE_WRITE_URL and so on).
type Config struct {
	// URL is the remote-write endpoint, e.g. Tencent Cloud managed
	// Prometheus's; empty turns pushing off.
	URL string `mapstructure:"url"`
	// Username and Password are HTTP basic credentials; BearerToken is
	// sent as "Authorization: Bearer". At most one of the two.
	Username    string `mapstructure:"username"`
	Password    string `mapstructure:"password"`
	BearerToken string `mapstructure:"bearer_token"`
	// Interval is how often the series are read and pushed.
	Interval time.Duration `mapstructure:"interval"`
	// Timeout bounds one push, and the last one at shutdown.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxQueue bounds the samples held while the endpoint is slow or
	// down; past it the oldest are dropped (and counted).
	MaxQueue int `mapstructure:"max_queue"`
	// MaxPerSend bounds the samples of one request.
	MaxPerSend int `mapstructure:"max_per_send"`
}

// Default is off, with the interval and bounds used once a URL is set.
func Default() Config {
	return Config{Interval: 15 * time.Second, Timeout: 5 * time.Second, MaxQueue: 100_000, MaxPerSend: 2_000}
}

// Enabled tells whether a URL is set.
func (c Config) Enabled() bool { return c.URL != "" }

// Validate reports every invalid field, naming its key (under
// "remote_write."), never a secret's value. A configuration without a
// URL is valid when it sets no credentials either.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, val any, allowed string) {
		errs = append(errs, fmt.Errorf("gateway: config remote_write.%s: invalid value %v (allowed: %s)", key, val, allowed))
	}
	if !c.Enabled() {
		if c.Username != "" || c.Password != "" || c.BearerToken != "" {
			bad("url", `""`, "the endpoint's URL when credentials are set")
		}
		return errors.Join(errs...)
	}
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad("url", "(not shown)", "an absolute http:// or https:// URL")
	case u.User != nil:
		bad("url", "(not shown)", "a URL without credentials: use remote_write.username and password")
	}
	if (c.Username == "") != (c.Password == "") {
		bad("username", "(not shown)", "set with password, or neither")
	}
	if c.BearerToken != "" && c.Username != "" {
		bad("bearer_token", "(not shown)", "unset when username and password are set")
	}
	if c.Interval < time.Second {
		bad("interval", c.Interval, ">= 1s")
	}
	if c.Timeout <= 0 || c.Timeout > c.Interval {
		bad("timeout", c.Timeout, "> 0 and <= interval")
	}
	if c.MaxPerSend < 1 {
		bad("max_per_send", c.MaxPerSend, ">= 1")
	}
	if c.MaxQueue < c.MaxPerSend {
		bad("max_queue", c.MaxQueue, ">= max_per_send")
	}
	return errors.Join(errs...)
}
