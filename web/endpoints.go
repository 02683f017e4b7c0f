package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/qlik"
)

// endpointRule limits refused POSTs (a wrong client secret, a bad code)
// per client address and target: the tenant's successful calls are taken
// back, so only someone guessing secrets or codes is slowed down.
var endpointRule = rule{limit: 50, lockout: time.Minute}

// endpointRoutes mounts the protocol endpoints of targets that have them
// (qlik.EndpointServer: the cloud-oidc provider's discovery, token, JWKS,
// userinfo, end-session) under /t/{id}/. The entry /t/{id}/ and the
// target's logout, ticket and other named routes win over the wildcard.
// POSTs go through the Origin guard like every other: the tenant's
// server-to-server token call sends no Origin, and a page of another site
// gets the JSON refusal.
func (s *Server) endpointRoutes(g *echo.Group, post *guardedRoutes) error {
	g.GET("/t/:target/*", s.handleEndpoint)
	g.OPTIONS("/t/:target/*", s.handleEndpoint)
	return post.postAPI("/t/:target/*", s.handleEndpoint, func(c echo.Context) error {
		return c.JSON(http.StatusForbidden, map[string]string{"error": "invalid_request", "error_description": "cross-site request refused"})
	})
}

// handleEndpoint passes the request to the target's handler with the
// /t/{id} prefix removed and, when the browser is signed in and owes no
// second factor, the user in the context.
func (s *Server) handleEndpoint(c echo.Context) error {
	id := c.Param("target")
	t, ok := s.targets[id]
	es, serves := t.(qlik.EndpointServer)
	if !ok || !serves {
		return echo.ErrNotFound
	}
	r := c.Request()
	ctx := r.Context()
	if _, st := s.sessions.load(r); st.User != nil && st.Owes == "" {
		ctx = qlik.WithSignedIn(ctx, qlikUser(*st.User))
	}
	r = r.Clone(ctx)
	r.URL.Path = "/" + c.Param("*")
	r.URL.RawPath = ""
	if !strings.HasPrefix(r.URL.Path, "/") {
		r.URL.Path = "/" + r.URL.Path
	}
	if r.Method != http.MethodPost {
		es.Endpoints().ServeHTTP(c.Response(), r)
		return nil
	}
	// A POST is counted as a failure before it runs and taken back if it
	// succeeds, atomically, as login attempts are.
	key := "op:" + id + ":" + c.RealIP()
	now := s.now()
	until, err := s.throttle.store.reserve(ctx, key, now, endpointRule)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "the throttle store failed; the request goes ahead uncounted", audit.Key, audit.ThrottleError, "cause", err.Error())
		es.Endpoints().ServeHTTP(c.Response(), r)
		return nil
	case until.After(now):
		s.log.WarnContext(ctx, "too many refused OpenID requests from this address", audit.Key, audit.OIDCRefused, "target", id, "reason", "throttled")
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(until.Sub(now).Seconds())+1))
		return c.JSON(http.StatusTooManyRequests, map[string]string{"error": "slow_down", "error_description": "too many refused requests"})
	}
	es.Endpoints().ServeHTTP(c.Response(), r)
	if st := c.Response().Status; st >= 200 && st < 400 {
		if err := s.throttle.store.release(context.WithoutCancel(ctx), key, now); err != nil {
			s.log.ErrorContext(ctx, "the throttle store failed to take back a successful request", audit.Key, audit.ThrottleError, "cause", err.Error())
		}
	}
	return nil
}
