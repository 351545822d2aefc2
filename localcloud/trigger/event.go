package trigger

import (
	"net/http"

	"github.com/scfgate/scfgate/scfevent"
)

// localServiceID is the serviceId of the local API Gateway service, shaped
// like the cloud's "service-" plus eight characters.
const localServiceID = "service-localscf"

// The local API's configuration as requestContext reports it: one API at
// the root of the mount, any method.
const (
	localAPIPath   = "/"
	localAPIMethod = "ANY"
)

// buildEvent returns the event m's function receives for r. fnPath is the
// path without the mount prefix and body the request body, already read.
func buildEvent(m *mount, r *http.Request, fnPath string, body []byte, requestID string) ([]byte, error) {
	if m.Kind == KindFunctionURL {
		return scfevent.NewFunctionURLEvent(r, fnPath, body).Marshal()
	}
	return scfevent.NewAPIGatewayEvent(r, fnPath, body, requestID, &m.apigw).Marshal()
}
