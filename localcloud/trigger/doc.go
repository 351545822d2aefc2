// Package trigger is localcloud's HTTP front door: one http.Handler that
// serves every HTTP-triggered function, the way SCF's API Gateway trigger,
// Function URLs and web functions serve them in the cloud.
//
// # Routing
//
// Each Route is mounted at a path prefix ("/echo"). A request is served by
// the route with the longest prefix that equals its path or is followed in
// it by "/": "/echo" and "/echo/v1/x" go to "/echo", "/echoes" does not.
// The function sees the path without the prefix ("/", "/v1/x"), as it would
// behind its own domain in the cloud. A route with the prefix "" (or "/")
// is the default: it serves every request no other route matches. Without
// a default an unmatched request gets 404 with an error body.
//
// # Event functions (Kind "apigw" and "http")
//
// The request becomes an event and the function is invoked synchronously
// with the request's context, so a client that goes away cancels the wait.
// Package scfevent defines the event and the integration response; the
// event is built as SCF documents it and as a real event in scf-go-lib's
// events/apigw_test.go shows it:
//
//   - headers: keys lower-cased, repeated headers joined with ", ", plus
//     "host". API Gateway ("apigw") adds x-qualifier (the route's qualifier,
//     "$LATEST" when empty), x-anonymous-consumer: true and endpoint-timeout
//     (Options.EndpointTimeout in seconds; informational only, the function's
//     own timeout ends the invocation). A Function URL ("http") adds
//     x-scf-remote-addr, the client's IP. Client-sent copies of these headers
//     are overwritten.
//   - queryString: a key given once is a string, a repeated key an array, a
//     key without "=" (?i) is true; inside an array a valueless key is "",
//     since scf-go-lib's decoder accepts only strings in arrays. Keys and
//     values are percent-decoded; an undecodable escape is passed as sent.
//   - body: the request body as a string. A body that is not UTF-8, or whose
//     Content-Type is not textual (text/*, JSON, XML, form, ...), is base64
//     encoded and, for API Gateway, marked "isBase64Encoded": true. When API
//     Gateway sets the flag is UNCONFIRMED (the real sample has no body);
//     Function URL events have no such field, so there a binary body is
//     base64 without a mark (UNCONFIRMED as well: the only lossless choice).
//   - API Gateway only: queryStringParameters, headerParameters,
//     pathParameters and stageVariables are {}: the cloud fills them only
//     with parameters declared in the API's configuration, and the local API
//     declares none (the real sample shows {} next to a non-empty query).
//     requestContext carries a fixed serviceId, the configured path "/" and
//     method "ANY" of the local API (the cloud sends the API's configuration
//     here, not the request's), the request id, identity {}, the client's IP
//     without port, and the route's stage ("release" when empty).
//   - A Function URL event has only headers, httpMethod, path, queryString
//     and body, as in the documented sample.
//
// The function's payload is an integration response:
// {"isBase64Encoded":bool,"statusCode":int,"headers":{...},"body":"..."}.
// statusCode must be an integer from 200 to 599, body a string (base64 when
// isBase64Encoded), header values strings, numbers or booleans; the front
// door frames the body itself, so Content-Length, Transfer-Encoding and
// Connection headers from the function are dropped, as are X-Request-Id
// (the front door's), header names that are not HTTP tokens and values with
// control characters; a response without Content-Type is sent without one. Anything else is answered as API Gateway
// answers it: 403 and {"errorCode":403,"errorMessage":"requestId <id> ,
// Invalid scf response. expected scf response valid JSON."}. The cloud's
// documented body repeats the key "error" (invalid as a JSON object); the
// front door sends valid JSON with errorCode/errorMessage instead. The
// Function URL documentation does not say what an invalid response gives,
// so Function URLs answer the same 403. An API Gateway route with
// Integrated false (integration response off) sends the payload as it is,
// with status 200 and Content-Type application/json; Function URLs always
// parse the payload, they have no such switch.
//
// # Errors
//
// A platform refusal (error of Invoke) or a function error (Result.
// FunctionError) is answered with the SCF status as HTTP status and the body
// {"errorCode":<SCF status>,"errorMessage":...,"requestId":...}: SCF's
// triggers pass statuses such as 430 through as HTTP statuses (observed on
// API Gateway-triggered functions, and what localcloud's runtime does for web
// functions), and the status-code table (430 user error, 432 throttled, 433
// timeout, 435 not found, ...) is what users look up. One exception: 406
// RequestTooLarge is sent as 413 Content Too Large, which HTTP clients
// understand; the front door itself refuses bodies over Options.MaxBodyBytes
// that way before reading them, and never reads more than that. (The SCF
// documentation says API Gateway answers a timeout with HTTP 200 when its
// own timeout is longer than the function's; the front door keeps 433 so
// that every function error looks the same.) Errors that are not SCF
// statuses are 500.
//
// # Web functions (Kind "web")
//
// The request, with the prefix stripped from its path and X-Scf-Request-Id
// set to the request id, is handed to WebForwarder.ServeWeb with the
// original ResponseWriter: nothing is buffered, so server-sent events reach
// the client as the function flushes them. The answer's X-Request-Id is the
// front door's, replacing any the function set (as for event functions;
// SCF's behaviour here is not documented): a web function that wants the
// same id reads it from X-Scf-Request-Id. A body declared larger than
// MaxBodyBytes is refused with 413; a chunked body is cut at the limit, which
// fails the forwarding.
//
// # CAM-authenticated Function URLs (Route.AuthType "CAM")
//
// A route with AuthType CAM, event or web function alike, serves only
// requests signed with TC3-HMAC-SHA256 and service "scf" as
// internal/tencentcloud.SignFunctionURLRequest signs them, verified with
// internal/tencentcloud/tc3.Verify against Options.Credentials (localcloud
// passes its API keys and the role credentials its runtime hands
// functions; one SecretId known with and without a session token is
// matched by the request's X-TC-Token). The body is read, up to
// MaxBodyBytes, to check its hash, unless the request sends
// X-TC-Content-SHA256: UNSIGNED-PAYLOAD. Authorization, X-TC-Timestamp,
// X-TC-Token and X-TC-Content-SHA256 are removed before the function sees
// the request; the response (SSE included) streams as for any route.
// AuthType NONE (or "") serves anyone.
//
// Assumptions, where Tencent's documents (583/96100) are silent: a request
// without an Authorization header is answered 401, any other failure
// (malformed header, unknown SecretId, timestamp more than 5 minutes off,
// wrong token, wrong signature) 403, both with the body of every other
// front-door error, {"errorCode":<HTTP status>,"errorMessage":"<Tencent
// error code>: <message>","requestId":...}; the error code is tc3's
// (AuthFailure.SignatureFailure, AuthFailure.SignatureExpire, ...). Every
// known credential is allowed scf:InvokeFunctionUrl: localcloud has no CAM
// policies to check.
//
// Every response carries X-Request-Id, the request id of the invocation, and
// every request is logged with it as request_id.
package trigger
