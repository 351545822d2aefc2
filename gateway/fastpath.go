package gateway

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// The fast path.
//
// Chat completions are nearly all of the gateway's traffic, and the chi
// router costs each request another copy of the *http.Request and a
// context value (its RouteContext) on top of the tree lookup. So
// ServeHTTP hands POST /v1/chat/completions straight to that route's
// chain, as chi holds it, and everything else to the router. Either way
// the request first gets its state (servedRequest: state, request copy and
// context in one allocation).
//
// What it skips: chi's route lookup and its RouteContext. On the fast
// path chi.RouteContext(r.Context()) is nil, so nothing there may use
// chi.URLParam or RoutePattern; the access log takes the route's pattern
// from requestState.route instead.
//
// Why it is equivalent to the routed path:
//   - the handler is the route's chain exactly as the router would run it,
//     found with chi.Walk when the gateway is built: the router's Use
//     middleware, the group's, and the endpoint, in that order;
//   - it serves only requests that chi would route to that chain: method
//     and path equal to the route's, no escaped path (chi routes on
//     RawPath when there is one), and not inside another chi router (which
//     routes on what is left of the path after its mount point);
//   - the per-request state is made in ServeHTTP, before either path, so
//     both paths see the same state the same way.
//
// TestFastPathMatchesRouter serves the same requests both ways and
// compares responses, logs and metrics.
//
// What a new middleware must do:
//   - be added on the router (Use, Group or With in routes), never by
//     wrapping the router inside ServeHTTP: chi.Walk then puts it on the
//     fast path too;
//   - keep what it learns about the request in requestState, reached with
//     requestStateFrom(r.Context()), never in a ResponseWriter wrapper
//     that later handlers would have to find by type;
//   - derive any new request context from r.Context(), so the state stays
//     reachable;
//   - if it wraps the ResponseWriter, implement Unwrap (and Flush, or
//     FlushError) so that http.ResponseController can flush streamed
//     answers through it.
//
// TestWrappingMiddleware checks that a middleware whose ResponseWriter
// has no Unwrap, inside or outside the gateway, splits nothing.

// ServeHTTP implements http.Handler. It makes the request's state, then
// serves the request on the fast path or through the router.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sr := &servedRequest{Context: r.Context()}
	// r.WithContext's copy does not escape: the compiler makes it on the
	// stack, and it moves into sr.
	sr.req = *r.WithContext(sr)
	r = &sr.req
	st := &sr.state
	if g.fast.serves(r) {
		st.route = g.fast.pattern
		g.fast.h.ServeHTTP(w, r)
		return
	}
	g.router.ServeHTTP(w, r)
}

// fastRoute is one route served without the router.
type fastRoute struct {
	method, pattern string
	h               http.Handler // the route's chain; nil: the router serves everything
}

// newFastRoute finds method and pattern's chain in router. Without one
// (router is not a chi router, or has no such route) the fast route
// serves nothing.
func newFastRoute(router http.Handler, method, pattern string) fastRoute {
	f := fastRoute{method: method, pattern: pattern}
	routes, ok := router.(chi.Routes)
	if !ok {
		return f
	}
	_ = chi.Walk(routes, func(m, p string, h http.Handler, mws ...func(http.Handler) http.Handler) error {
		if m == method && p == pattern {
			f.h = chi.Chain(mws...).Handler(h)
		}
		return nil
	})
	return f
}

// serves tells whether the router would route r to f's chain.
func (f *fastRoute) serves(r *http.Request) bool {
	return f.h != nil && r.Method == f.method && r.URL.RawPath == "" && r.URL.Path == f.pattern &&
		chi.RouteContext(r.Context()) == nil
}
