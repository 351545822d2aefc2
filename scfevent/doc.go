// Package scfevent is the one definition of SCF's HTTP events: the request
// event an API Gateway trigger or a Function URL delivers to an event
// function, and the integration response the function returns.
//
// It works in both directions. A function serves events with an
// http.Handler through Adapter (scf-go-lib's Invoke signature): the event
// becomes an *http.Request and the buffered response becomes the
// integration response. localcloud's front door does what the cloud does:
// NewAPIGatewayEvent and NewFunctionURLEvent build the event from an
// incoming request, ParseResponse and (*HTTPResponse).Write turn the
// function's payload back into HTTP.
//
// # The request event
//
// Both shapes share headers (keys lower-cased, repeated values joined with
// ", "), httpMethod, path, queryString and body. queryString holds a
// string for a key given once, an array of strings for a repeated key and
// true for a key without "=" (?i); inside an array a valueless key is "",
// since scf-go-lib's decoder accepts only strings there. An API Gateway
// event adds queryStringParameters, headerParameters, pathParameters and
// stageVariables (filled only with parameters declared in the API's
// configuration), isBase64Encoded and requestContext; a Function URL event
// has none of them and carries the client's address in the
// x-scf-remote-addr header instead.
//
// A body is sent as text when its Content-Type is textual (IsText) and it
// is valid UTF-8, and as base64 otherwise; API Gateway marks base64 with
// isBase64Encoded, a Function URL event has no such field.
//
// # The integration response
//
// {"isBase64Encoded":bool,"statusCode":int,"headers":{...},"body":"..."}.
// Adapter writes it with the same text rule as the event. ParseResponse
// reads it as API Gateway does: statusCode must be an integer from 200 to
// 599, body a string (base64 when isBase64Encoded), header values strings,
// numbers or booleans.
package scfevent
