package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/qlik"
)

// The access-token window, GET /t/{id}/access-token/window?origin=…, is
// how a portal on another site gets a qlik-embed token when the browser
// blocks third-party cookies: a credentialed fetch from the portal cannot
// carry qlikgate's session cookie there, but a top-level window on
// qlikgate's own origin is first party and can. The portal opens it on a
// click; the page hands the token to window.opener with postMessage,
// addressed to the origin the portal named, and closes.
//
// Why a forged origin gets nothing: the origin must be one of the
// target's embed_origins, and postMessage delivers to the opener only if
// the opener's document is of exactly that origin (targetOrigin). An
// attacker's page that opens the window with ?origin=<the real portal>
// is the opener, but not of that origin, so the browser drops the
// message; with ?origin=<its own> the window refuses before any token.

// accessTokenWindowCall is the window for embedAllowed: it shares the POST
// endpoint's throttle key, so opening windows is no way around it.
var accessTokenWindowCall = embedCall{what: "access token", key: accessTokenCall.key, rule: accessTokenCall.rule, throttled: audit.AccessTokenThrottled}

// accessTokenWindowPath is the window's path under the base, for target id
// and a portal origin already checked: a sign-in started by the window
// returns only here.
func (s *Server) accessTokenWindowPath(id, origin string) string {
	return s.base + "t/" + url.PathEscape(id) + "/access-token/window?" + url.Values{"origin": {origin}}.Encode()
}

// windowOrigin is the portal origin of the ?origin= parameter when it is
// one of target id's embed_origins, normalised.
func (ee *embedEndpoint) windowOrigin(id, param string) (string, bool) {
	o, ok := originOf(param)
	if !ok || param != o {
		// Exactly an origin, as normalised: the page posts to what the
		// operator listed, not to a spelling of it the browser might read
		// otherwise.
		return "", false
	}
	return o, slices.Contains(ee.origins[id], o)
}

// windowHeaders are the window's headers on every answer. Its pages carry
// a token (or lead to one), so nothing caches them and no Referer leaves;
// the opener must survive, so Cross-Origin-Opener-Policy is relaxed for
// this page alone (qlikgate's others keep same-origin); and no site may
// frame it.
func windowHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "unsafe-none")
	h.Set("X-Frame-Options", "DENY")
}

// handleAccessTokenWindow is GET /t/{id}/access-token/window?origin=….
func (s *Server) handleAccessTokenWindow(c echo.Context) error {
	windowHeaders(c.Response().Header())
	id := c.Param("target")
	issuer, ok := s.accessTokenTarget(id)
	if !ok {
		return s.errorPage(c, http.StatusNotFound, msgUnknownTarget)
	}
	origin, ok := s.embedAPI.windowOrigin(id, c.QueryParam("origin"))
	if !ok {
		s.logger(c).Warn("refused an access-token window for an origin the target does not allow", audit.Key, audit.CSRFFailed,
			"reason", "window_origin", "target", id, "origin", truncate(c.QueryParam("origin"), 100))
		return s.problem(c, http.StatusBadRequest, say(msgWindowOrigin), "")
	}
	sess, st := s.sessions.load(c.Request())
	if st.User == nil || st.Owes != "" {
		// Through the normal sign-in (or its second step), back here.
		return s.windowDetour(c, sess, st, *st.addWindowFlow(id, origin, s.now()))
	}
	if st.touched {
		s.saveSession(c, sess, st)
	}
	if refused, err := s.refuseEntry(c, sess, st, s.targets[id], qlik.Entry{}); refused {
		return err
	}
	if status, code := s.embedAllowed(c, id, accessTokenWindowCall, *st.User); code != "" {
		// Only the throttle is left: the access rules were checked above.
		return s.problem(c, status, say(msgWindowThrottled), "")
	}
	tok, err := s.issueAccessToken(c, id, issuer, *st.User, origin)
	if err != nil {
		if unreachable(err) {
			return s.problem(c, http.StatusServiceUnavailable, say(msgQlikUnavailable), "")
		}
		return s.errorPage(c, http.StatusBadGateway, msgQlikRefused)
	}
	// Only qlikgate's own script runs, and it talks to nobody: it posts
	// to the opener, which needs no connect-src.
	c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy(nil, "'self'", "'none'"))
	return s.render(c, http.StatusOK, "accesstoken", view{Data: map[string]any{
		"origin":    origin,
		"token":     tok.Value,
		"expiresAt": tok.ExpiresAt.UTC().Format(time.RFC3339),
	}})
}

// windowDetour sends a browser that is not (fully) signed in from the
// window to the sign-in of flow f, or to its second factor.
func (s *Server) windowDetour(c echo.Context, sess *sessions.Session, st *state, f flow) error {
	s.saveSession(c, sess, st)
	windowHeaders(c.Response().Header())
	if st.User != nil {
		return c.Redirect(http.StatusFound, s.base+"mfa?"+url.Values{"flow": {f.ID}}.Encode())
	}
	return c.Redirect(http.StatusFound, s.base+"login?"+url.Values{"flow": {f.ID}}.Encode())
}

// resumeWindow ends a sign-in the window started: back to the window once
// nothing is owed, else on to the second factor (in a new flow, as a
// hand-off deferred for it is).
func (s *Server) resumeWindow(c echo.Context, sess *sessions.Session, st *state, f flow) error {
	if st.Owes != "" {
		return s.windowDetour(c, sess, st, *st.addWindowFlow(f.Target, f.Window, s.now()))
	}
	s.saveSession(c, sess, st)
	// Also from an identity provider's callback, which names no flow for
	// windowFlowOpener to see.
	windowHeaders(c.Response().Header())
	return c.Redirect(http.StatusFound, s.accessTokenWindowPath(f.Target, f.Window))
}

// windowFlowPrefix starts the id of every flow the window starts. Other
// flow ids are randomID's upper-case base32, so they never start so.
const windowFlowPrefix = "w-"

// addWindowFlow is addFlow for a sign-in the window started, for origin.
func (st *state) addWindowFlow(target, origin string, now time.Time) *flow {
	f := st.addFlow(target, qlik.Entry{}, now)
	f.ID, f.Window = windowFlowPrefix+f.ID, origin
	return f
}

// windowFlowOpener keeps the window's opener through its sign-in. A
// top-level page answered with Cross-Origin-Opener-Policy: same-origin
// (qlikgate's default) is put in a browsing context group of its own,
// which cuts window.opener for good, also for the window page the
// sign-in returns to. So the pages of a window's sign-in (the login and
// second-step pages and the redirects between them, all of which name the
// flow) are answered with unsafe-none, as the window is. The flow id in
// the URL or the form is enough to decide, without the session: anyone
// can start a window's sign-in anyway, and a login page without
// same-origin COOP gives an opener nothing it can read.
func windowFlowOpener(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		f := c.QueryParam("flow")
		if f == "" && c.Request().Method == http.MethodPost {
			f = posted(c, "flow")
		}
		if strings.HasPrefix(f, windowFlowPrefix) {
			c.Response().Header().Set("Cross-Origin-Opener-Policy", "unsafe-none")
		}
		return next(c)
	}
}
