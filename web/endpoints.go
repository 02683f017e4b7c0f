package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/qlik"
)

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
	es.Endpoints().ServeHTTP(c.Response(), r)
	return nil
}
