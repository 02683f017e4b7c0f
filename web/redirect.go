package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
)

// redirectFlowTTL bounds the time a user may spend at the identity provider.
const redirectFlowTTL = 10 * time.Minute

// hintParams are passed from the login URL to the identity provider.
var hintParams = []string{"login_hint", "prompt"}

// handleRedirectStart sends the browser to a redirect provider (OIDC):
// GET /login/{provider}?flow=… The state, nonce and PKCE verifier are kept
// in the flow of this tab, so logins in several tabs do not clash.
func (s *Server) handleRedirectStart(c echo.Context) error {
	id := c.Param("provider")
	rp, ok := s.redirect[id]
	if !ok {
		return s.errorPage(c, http.StatusNotFound, msgUnknownMethod)
	}
	sess, st := s.sessions.load(c.Request())
	f := s.flowFor(st, c.QueryParam("flow"))
	f.Redirect = &redirectFlow{
		Provider: id,
		State:    randomID(),
		Nonce:    randomID(),
		// PKCE wants 43–128 characters; two base32 texts give 52.
		Verifier: randomID() + randomID(),
		Started:  s.now().Unix(),
	}
	hints := url.Values{}
	for _, k := range hintParams {
		if v := c.QueryParam(k); v != "" && len(v) <= 256 {
			hints.Set(k, v)
		}
	}
	var (
		authURL string
		err     error
	)
	ctx := c.Request().Context()
	if h, ok := rp.(providers.HintedRedirectProvider); ok && len(hints) > 0 {
		authURL, err = h.AuthURLWithHints(ctx, f.Redirect.State, f.Redirect.Nonce, f.Redirect.Verifier, hints)
	} else {
		authURL, err = rp.AuthURL(ctx, f.Redirect.State, f.Redirect.Nonce, f.Redirect.Verifier)
	}
	if err != nil {
		f.Redirect = nil
		s.log.WarnContext(c.Request().Context(), "could not start a redirect login", audit.Key, audit.LoginFailed, "provider", id, "cause", err.Error())
		return s.loginAgain(c, sess, st, f.ID, id, http.StatusServiceUnavailable, say(msgUnavailable))
	}
	s.saveSession(c, sess, st)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, authURL)
}

// handleCallback is where the identity provider sends the browser back:
// GET /callback/{provider}?state=…&code=… (or error=…).
func (s *Server) handleCallback(c echo.Context) error {
	id := c.Param("provider")
	rp, ok := s.redirect[id]
	if !ok {
		return s.errorPage(c, http.StatusNotFound, msgUnknownMethod)
	}
	log := s.logger(c)
	sess, st := s.sessions.load(c.Request())
	f, ok := st.flowByState(id, c.QueryParam("state"))
	if !ok || s.now().Sub(time.Unix(f.Redirect.Started, 0)) > redirectFlowTTL {
		reason := "state_mismatch"
		if ok {
			reason, f.Redirect = "flow_expired", nil
		}
		log.WarnContext(c.Request().Context(), "redirect login refused", audit.Key, audit.LoginFailed, "provider", id, "reason", reason)
		return s.loginAgain(c, sess, st, "", id, http.StatusBadRequest, say(msgFlowLost))
	}
	rf := *f.Redirect
	f.Redirect = nil // a state is good for one answer only
	start := time.Now()
	ident, err := rp.Callback(c.Request().Context(), c.QueryParams(), rf.Nonce, rf.Verifier)
	s.metrics.observeLogin(s.provider(id), err, time.Since(start))
	if err != nil {
		status, m, level := http.StatusUnauthorized, failureMessage(err, msgRedirectFailed), slog.LevelWarn
		if errors.Is(err, providers.ErrUnavailable) {
			status, m = http.StatusServiceUnavailable, say(msgUnavailable)
		}
		log.Log(c.Request().Context(), level, "login failed", audit.Key, audit.LoginFailed, "provider", id,
			"reason", failureReason(err), "target", f.Target, "cause", err.Error(), "duration_ms", ms(time.Since(start)))
		return s.loginAgain(c, sess, st, f.ID, id, status, m)
	}
	flow, _ := st.takeFlow(f.ID)
	return s.completeLogin(c, sess, st, id, ident, flow, start, nil)
}

// loginAgain shows the login page with a message and a reference id, for
// another attempt in the same flow (or a new one when flowID is unknown).
func (s *Server) loginAgain(c echo.Context, sess *sessions.Session, st *state, flowID, selected string, status int, m msg) error {
	flowID = s.flowFor(st, flowID).ID
	s.saveSession(c, sess, st)
	v := s.loginView(st, flowID, selected)
	v.msg, v.RequestID = m, requestID(c)
	return s.render(c, status, "login", v)
}
