package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// normalOrigin is the origin of an absolute http(s) URL in one spelling:
// lower-case scheme and host, the port only when it is not the scheme's
// default. ok is false for anything else, "null" included.
func normalOrigin(raw string) (origin string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return "", false
	}
	switch {
	case (scheme == "http" && port == "80") || (scheme == "https" && port == "443") || port == "":
		if strings.Contains(host, ":") {
			host = "[" + host + "]" // IPv6
		}
	default:
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host, true
}

// originOf is the origin of an Origin header, which has no path: one
// with a path, query or fragment is not a browser's, and is refused.
func originOf(header string) (string, bool) {
	u, err := url.Parse(header)
	if err != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", false
	}
	return normalOrigin(header)
}

// originGuard is the second line of defence against cross-site request
// forgery, beside the session's CSRF token: a state-changing request must
// come from a page of an allowed origin, as the browser tells in Origin
// or, when it sends no Origin, in Sec-Fetch-Site. A request with neither
// (an old browser, curl) is left to the token alone.
//
// A page of a server.frame_ancestors portal that frames qlikgate is not
// an allowed origin: the form inside the frame is qlikgate's own page, so
// its post carries qlikgate's origin. Only endpoints that other sites'
// scripts call (embed_origins) need more.
type originGuard struct {
	allowed []string // normalised
}

// newOriginGuard allows the origin of publicURL.
func newOriginGuard(publicURL string) (originGuard, error) {
	self, ok := normalOrigin(publicURL)
	if !ok {
		return originGuard{}, fmt.Errorf("server.public_url: %q has no http(s) origin", publicURL)
	}
	return originGuard{allowed: []string{self}}, nil
}

// with is the guard that also allows the extra origins, for a route that
// other sites may post to (embed_origins).
func (g originGuard) with(extra ...string) (originGuard, error) {
	out := originGuard{allowed: append([]string(nil), g.allowed...)}
	for _, e := range extra {
		o, ok := originOf(e)
		if !ok {
			return originGuard{}, fmt.Errorf("web: %q is not an origin (scheme://host[:port], no path)", e)
		}
		out.allowed = append(out.allowed, o)
	}
	return out, nil
}

// refusal says why r comes from a page the guard does not allow ("origin"
// or "sec_fetch_site"), or "" when it may pass.
func (g originGuard) refusal(r *http.Request) string {
	site := r.Header.Get("Sec-Fetch-Site")
	if values, sent := r.Header["Origin"]; sent {
		if len(values) == 1 && values[0] == "null" && site == "same-origin" {
			// A page of qlikgate's own under Referrer-Policy no-referrer (an
			// operator's layout.html may set it) posts with Origin: null;
			// the browser, which alone sets Sec-Fetch-Site, still says the
			// form came from this origin. Sandboxed frames and cross-site
			// redirects that also send null are cross-site there.
			return ""
		}
		o, ok := originOf(strings.Join(values, ","))
		if !ok {
			return "origin" // "null" (sandboxed frames, privacy redirects) included
		}
		for _, a := range g.allowed {
			if o == a {
				return ""
			}
		}
		return "origin"
	}
	switch site {
	case "", "same-origin", "none":
		return ""
	default:
		return "sec_fetch_site"
	}
}

// middleware refuses a request the guard does not allow with a 403 page
// saying msgID (the form had expired: the user's way out is to start
// again from qlikgate's own page) and a csrf_failed log line.
func (g originGuard) middleware(s *Server, msgID string) echo.MiddlewareFunc {
	return g.refusing(s, func(c echo.Context) error { return s.problem(c, http.StatusForbidden, say(msgID), s.base) })
}

// refusing is middleware that logs a request the guard does not allow as
// csrf_failed and answers it with refuse.
func (g originGuard) refusing(s *Server, refuse echo.HandlerFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			reason := g.refusal(c.Request())
			if reason == "" {
				return next(c)
			}
			h := c.Request().Header
			s.logger(c).Warn("refused a state-changing request from another site", "event", "csrf_failed", "reason", reason,
				"origin", truncate(strings.Join(h.Values("Origin"), ","), 100), "sec_fetch_site", truncate(h.Get("Sec-Fetch-Site"), 20))
			return refuse(c)
		}
	}
}

// guardedRoutes registers state-changing routes behind an originGuard and
// remembers them, so that routes() can refuse to start with one that
// was registered without it.
type guardedRoutes struct {
	s     *Server
	g     *echo.Group
	guard originGuard
	seen  map[string]bool // method + " " + full path
}

// post registers a POST route that pages of the guard's origins, and of
// extra origins, may send.
func (r *guardedRoutes) post(path string, h echo.HandlerFunc, msgID string, extra ...string) error {
	guard, err := r.guard.with(extra...)
	if err != nil {
		return fmt.Errorf("web: route %s: %w", path, err)
	}
	rt := r.g.POST(path, h, guard.middleware(r.s, msgID))
	r.seen[rt.Method+" "+rt.Path] = true
	return nil
}

// postAPI registers a POST route that scripts call: a request the guard
// refuses gets refuse's answer (JSON) instead of a page.
func (r *guardedRoutes) postAPI(path string, h, refuse echo.HandlerFunc, extra ...string) error {
	guard, err := r.guard.with(extra...)
	if err != nil {
		return fmt.Errorf("web: route %s: %w", path, err)
	}
	rt := r.g.POST(path, h, guard.refusing(r.s, refuse))
	r.seen[rt.Method+" "+rt.Path] = true
	return nil
}

// check fails when a route of e takes a method that changes state and
// was not registered through post: every such route must check Origin.
func (r *guardedRoutes) check(e *echo.Echo) error {
	for _, rt := range e.Routes() {
		switch rt.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodConnect, echo.RouteNotFound:
			continue
		}
		if !r.seen[rt.Method+" "+rt.Path] {
			return fmt.Errorf("web: %s %s is registered without the Origin check (use guardedRoutes.post)", rt.Method, rt.Path)
		}
	}
	return nil
}
