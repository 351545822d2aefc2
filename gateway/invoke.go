package gateway

import (
	"context"

	"github.com/scfgate/scfgate/scfevent"
)

// Invoke serves one SCF event: it decodes the API Gateway or Function URL
// event, runs the handler and returns the integration response as JSON.
// A streamed request gets its whole SSE body at once: event functions
// answer once. API Gateway's request id becomes X-Request-Id unless the
// client sent one. Its signature is scf-go-lib's Handler.Invoke.
func (g *Gateway) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return scfevent.Adapter{Handler: g, RequestIDHeader: RequestIDHeader}.Invoke(ctx, payload)
}
