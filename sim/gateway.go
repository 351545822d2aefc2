package sim

import (
	"time"

	"golang.org/x/time/rate"
)

// newGateway returns the gateway's global token bucket as configured, the
// same golang.org/x/time/rate limiter the gateway runs, or nil when no
// gateway stands in front of the function.
func newGateway(c Config) *rate.Limiter {
	if c.GatewayRPS <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(c.GatewayRPS), max(c.GatewayBurst, 1))
}

// admit takes a token from the gateway's bucket at t, if there is a
// gateway. A request refused here is answered 429 by the gateway and
// never reaches SCF, so it is neither throttled nor billed.
func (e *engine) admit(t int64) bool {
	return e.gateway == nil || e.gateway.AllowN(Epoch.Add(time.Duration(t)), 1)
}
