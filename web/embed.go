package web

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// embedHeader is the header a script must send with the embed endpoints
// (POST /t/{id}/ticket, POST /t/{id}/access-token). A form or a simple
// cross-site request cannot carry it, and a script of another origin can
// only send it after a preflight that qlikgate answers for embed_origins
// alone: this, with the Origin check, keeps other sites from having a
// signed-in user's browser fetch a credential for them.
const embedHeader = "X-Qlikgate-Request"

// embedEndpoint is what the embed endpoints need to know per target.
type embedEndpoint struct {
	self   string                 // qlikgate's own origin, normalised
	guards map[string]originGuard // target id → its allowed origins
	all    []string               // every target's embed origins, for the routes' guard
	// origins are each target's embed_origins alone, normalised: the
	// pages the access-token window may hand a token to.
	origins map[string][]string
}

// embeds reports whether a target serves an embed endpoint: it issues
// tickets, or it is configured to issue access tokens.
func embeds(t qlik.Target) bool {
	if _, ok := t.(qlik.TicketIssuer); ok {
		return true
	}
	ti, ok := t.(qlik.AccessTokenIssuer)
	return ok && ti.IssuesAccessTokens()
}

// newEmbedEndpoint checks each target's embed_origins and that only
// targets with an embed endpoint have them.
func newEmbedEndpoint(guard originGuard, targets map[string]qlik.Target, embed map[string][]string) (*embedEndpoint, error) {
	ee := &embedEndpoint{self: guard.allowed[0], guards: map[string]originGuard{}, origins: map[string][]string{}}
	for id, t := range targets {
		origins := embed[id]
		if !embeds(t) {
			if len(origins) > 0 {
				return nil, fmt.Errorf("web: target %q: embed_origins is only for targets that issue tickets (sense-ticket) or access tokens (Qlik Cloud with oauth_client_id)", id)
			}
			continue
		}
		g, err := guard.with(origins...)
		if err != nil {
			return nil, fmt.Errorf("web: target %q: embed_origins: %w", id, err)
		}
		ee.guards[id] = g
		ee.origins[id] = g.allowed[len(guard.allowed):]
		ee.all = append(ee.all, origins...)
	}
	for id := range embed {
		if _, ok := targets[id]; !ok && len(embed[id]) > 0 {
			return nil, fmt.Errorf("web: embed_origins for target %q, which is not among the targets", id)
		}
	}
	return ee, nil
}

// corsOrigin is the request's Origin when target id allows it and it
// is another origin than qlikgate's own, so that the answer needs CORS
// headers; "" otherwise.
func (ee *embedEndpoint) corsOrigin(id string, r *http.Request) string {
	g, ok := ee.guards[id]
	if !ok {
		return ""
	}
	values := r.Header.Values("Origin")
	if len(values) != 1 {
		return ""
	}
	o, ok := originOf(values[0])
	if !ok || o == ee.self || !slices.Contains(g.allowed, o) {
		return ""
	}
	// Echoed as the browser sent it: CORS compares it byte for byte.
	return values[0]
}

// embedRoute registers POST path (under /t/:target/) and its preflight.
func (s *Server) embedRoute(g *echo.Group, post *guardedRoutes, path string, h echo.HandlerFunc) error {
	g.OPTIONS(path, s.handleEmbedPreflight)
	return post.postAPI(path, h, func(c echo.Context) error {
		return embedError(c, http.StatusForbidden, "origin_not_allowed")
	}, s.embedAPI.all...)
}

// handleEmbedPreflight answers the browser's CORS preflight for an
// allowed origin; any other gets no CORS headers, so the browser never
// sends the POST.
func (s *Server) handleEmbedPreflight(c echo.Context) error {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	h.Set("Cache-Control", "no-store")
	o := s.embedAPI.corsOrigin(c.Param("target"), c.Request())
	if o == "" || c.Request().Header.Get("Access-Control-Request-Method") != http.MethodPost {
		return c.NoContent(http.StatusForbidden)
	}
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Allow-Methods", http.MethodPost)
	h.Set("Access-Control-Allow-Headers", embedHeader)
	h.Set("Access-Control-Max-Age", "600")
	return c.NoContent(http.StatusNoContent)
}

// embedCall describes one embed endpoint for embedGate.
type embedCall struct {
	what      string // "ticket", "access token": in log messages
	key       string // the throttle key's prefix
	rule      rule   // per user and minute
	throttled string // the audit event of a throttled request
}

// embedGate runs the checks every embed endpoint shares, in order: the
// target's own origins, CORS, the custom header, a signed-in session that
// owes no second factor, the target's access rules and the per-user
// throttle. ok is false when it has answered the request (with err).
func (s *Server) embedGate(c echo.Context, id string, call embedCall) (u providers.Identity, ok bool, err error) {
	h := c.Response().Header()
	r := c.Request()
	if g := s.embedAPI.guards[id]; g.refusal(r) != "" {
		// Another target's embed origin passed the route's guard.
		s.logger(c).Warn("refused a "+call.what+" request from an origin the target does not allow", audit.Key, audit.CSRFFailed,
			"reason", "origin", "target", id, "origin", truncate(r.Header.Get("Origin"), 100))
		return u, false, embedError(c, http.StatusForbidden, "origin_not_allowed")
	}
	if origin := s.embedAPI.corsOrigin(id, r); origin != "" {
		// From here on the page may read the answer, errors included.
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Header.Get(embedHeader) != "1" {
		s.logger(c).Warn("refused a "+call.what+" request without the "+embedHeader+" header", audit.Key, audit.CSRFFailed,
			"reason", "header", "target", id, "origin", truncate(r.Header.Get("Origin"), 100))
		return u, false, embedError(c, http.StatusForbidden, "header_missing")
	}
	sess, st := s.sessions.load(r)
	// A sign-in that still owes its second factor is not signed in yet.
	if st.User == nil || st.Owes != "" {
		return u, false, embedError(c, http.StatusUnauthorized, "not_signed_in")
	}
	if st.touched {
		s.saveSession(c, sess, st)
	}
	u = *st.User
	if status, code := s.embedAllowed(c, id, call, u); code != "" {
		return u, false, embedError(c, status, code)
	}
	return u, true, nil
}

// embedAllowed runs the checks an embed endpoint and the access-token
// window share once the user is known: the target's access rules and the
// per-user throttle. code is "" when the call may go ahead; otherwise it
// says why not, with the status to answer (and Retry-After set).
func (s *Server) embedAllowed(c echo.Context, id string, call embedCall, u providers.Identity) (status int, code string) {
	ctx := c.Request().Context()
	if rule := accessRule(s.access[id], u.Provider, u.Groups); rule != "" {
		s.log.WarnContext(ctx, call.what+" refused by the target's access rules", audit.Key, audit.AccessDenied,
			"target", id, "user", u.UserID, "provider", u.Provider, "rule", rule)
		s.metrics.observeDenied(id, s.kinds[id])
		return http.StatusForbidden, "access_denied"
	}
	now := s.now()
	// A fixed window per minute: the key changes each minute, so a user who
	// asks steadily is never pushed into the login throttle's back-off.
	key := call.key + ":" + u.Provider + ":" + keyName(u.UserID) + ":" + strconv.FormatInt(now.Unix()/60, 10)
	until, err := s.throttle.store.reserve(ctx, key, now, call.rule)
	if err != nil {
		// As for logins: a store that cannot be reached does not lock
		// everyone out; it is logged for the operator.
		s.log.ErrorContext(ctx, "the throttle store failed; the "+call.what+" request goes ahead uncounted", audit.Key, audit.ThrottleError, "cause", err.Error())
	} else if wait := until.Sub(now); wait > 0 {
		s.log.WarnContext(ctx, "too many "+call.what+" requests", audit.Key, call.throttled, "target", id, "user", u.UserID)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return http.StatusTooManyRequests, "too_many_requests"
	}
	return 0, ""
}

// embedFailure answers a target's failure to issue: 503 when Qlik could
// not be reached, 502 when it refused.
func embedFailure(c echo.Context, err error) error {
	if unreachable(err) {
		return embedError(c, http.StatusServiceUnavailable, "qlik_unavailable")
	}
	return embedError(c, http.StatusBadGateway, "qlik_refused")
}

// embedError is the endpoints' JSON error: a code a script can switch on.
func embedError(c echo.Context, status int, code string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, map[string]string{"error": code})
}
