package web

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
)

// Windows sign-in (Kerberos through SPNEGO, RFC 4559). The entry answers a
// browser without a session with 401 and `WWW-Authenticate: Negotiate`,
// and the full login page as the body: a browser that has a ticket for
// the SPN retries at once with `Authorization: Negotiate <token>`, and one
// that has none shows the body, which is the form. Two rules keep this
// from ever looping:
//
//   - a browser whose token was refused is not challenged again on its own
//     in this session (state.NoNegotiate): it gets the form with 200;
//   - after a sign-out the browser is not challenged on its own either
//     (the negotiateOffCookie), or the user could never sign out: Qlik's
//     own Windows authentication signs them straight back in. The login
//     page then offers "Sign in as your Windows account" (GET /negotiate),
//     which challenges once.
//
// A token is not a guess at a password (the KDC made it, for this
// browser's user), so it is not counted by the login throttle; a refused
// one costs no directory lookup.

// negotiateOffCookie, when present, stops the automatic challenge: the
// user signed out. It holds no secret, so it is not signed: anyone able to
// set it can only make a browser see the form.
const negotiateOffCookie = "qlikgate_negotiate"

// negotiateOffAge is how long a sign-out keeps Windows sign-in manual.
const negotiateOffAge = 365 * 24 * time.Hour

// negotiateMethod is the audit value of method for a Kerberos sign-in.
const negotiateMethod = "kerberos"

// loginMethodKey is the echo context key completeLogin takes the audit
// `method` from.
const loginMethodKey = "qlikgate.login_method"

// msgNegotiateFailed is shown on the form when Windows sign-in did not work.
const msgNegotiateFailed = "message.negotiate_failed"

// negotiator is the provider that signs in with Kerberos: the first one
// configured for it.
func (s *Server) negotiator() (string, providers.NegotiateProvider, bool) {
	for _, p := range s.providers {
		if np, ok := p.Impl.(providers.NegotiateProvider); ok && np.NegotiateEnabled() {
			return p.ID, np, true
		}
	}
	return "", nil, false
}

func (s *Server) hasNegotiator() bool {
	_, _, ok := s.negotiator()
	return ok
}

// autoNegotiate reports whether the entry may challenge this browser on
// its own.
func (s *Server) autoNegotiate(c echo.Context, st *state) bool {
	if _, _, ok := s.negotiator(); !ok || st.NoNegotiate {
		return false
	}
	_, err := c.Cookie(negotiateOffCookie)
	return err != nil
}

// negotiateToken is the decoded token of `Authorization: Negotiate …`, or
// nil when the request has none.
func negotiateToken(r *http.Request) ([]byte, bool) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Negotiate") {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil || len(b) == 0 {
		return []byte{}, true // a malformed token: refused like any other
	}
	return b, true
}

// showLoginOrNegotiate is the entry's answer to a browser without a
// session (the session is saved here): a Negotiate token is judged, a
// browser that may be challenged gets the 401, any other the form. A
// browser that comes back without a token after a challenge could not
// answer it (no ticket; Chromium asks again without credentials at once):
// it gets the form, with 200, and no more challenges.
func (s *Server) showLoginOrNegotiate(c echo.Context, sess *sessions.Session, st *state, flowID string) error {
	if !s.autoNegotiate(c, st) || c.QueryParam("provider") != "" {
		s.saveSession(c, sess, st)
		return s.showLogin(c, st, flowID)
	}
	if tok, ok := negotiateToken(c.Request()); ok {
		st.Challenged = false
		return s.negotiate(c, sess, st, flowID, tok)
	}
	if st.Challenged {
		st.Challenged, st.NoNegotiate = false, true
		s.saveSession(c, sess, st)
		return s.showLogin(c, st, flowID)
	}
	st.Challenged = true
	s.saveSession(c, sess, st)
	return s.challenge(c, s.loginView(st, flowID, ""))
}

// challenge answers 401 Negotiate with the login page v as the body.
func (s *Server) challenge(c echo.Context, v view) error {
	v.Negotiate = false // the page is what a browser that cannot negotiate shows
	c.Response().Header().Set("WWW-Authenticate", "Negotiate")
	return s.render(c, http.StatusUnauthorized, "login", v)
}

// handleNegotiate is the "Sign in as your Windows account" button (GET
// /negotiate?flow=): one challenge, whatever the automatic rules say.
func (s *Server) handleNegotiate(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	flowID := s.flowFor(st, c.QueryParam("flow")).ID
	if tok, ok := negotiateToken(c.Request()); ok && s.hasNegotiator() {
		return s.negotiate(c, sess, st, flowID, tok) // saves the session
	}
	s.saveSession(c, sess, st)
	if !s.hasNegotiator() {
		return c.Redirect(http.StatusFound, s.base+"login?flow="+url.QueryEscape(flowID))
	}
	// Shown only by a browser that has no ticket to answer with.
	v := s.loginView(st, flowID, "")
	v.msg = say(msgNegotiateFailed)
	return s.challenge(c, v)
}

// negotiate judges a token: a user found is signed in and handed over
// like after a password; a refusal is logged with its reason and ends on
// the form, with 200, so the browser does not try again.
func (s *Server) negotiate(c echo.Context, sess *sessions.Session, st *state, flowID string, tok []byte) error {
	log := s.logger(c)
	providerID, np, _ := s.negotiator()
	start := time.Now()
	ctx, cancel := context.WithTimeout(c.Request().Context(), loginTimeout)
	defer cancel()
	id, resp, err := np.Negotiate(ctx, tok)
	s.metrics.observeLogin(s.provider(providerID), err, time.Since(start))
	if err != nil {
		level := slog.LevelInfo
		switch {
		case errors.Is(err, providers.ErrBadCredentials):
		case errors.Is(err, providers.ErrUnavailable):
			level = slog.LevelWarn
		default:
			level = slog.LevelError
		}
		log.Log(ctx, level, "login failed", audit.Key, audit.LoginFailed, "provider", providerID, "method", negotiateMethod,
			"reason", failureReason(err), "target", s.flowTarget(st, flowID), "cause", truncate(err.Error(), 512),
			"duration_ms", ms(time.Since(start)))
		st.NoNegotiate = true
		s.saveSession(c, sess, st)
		v := s.loginView(st, flowID, "")
		v.msg = say(msgNegotiateFailed)
		return s.render(c, http.StatusOK, "login", v)
	}
	if len(resp) > 0 {
		c.Response().Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString(resp))
	}
	// Windows sign-in works again on its own once it was used.
	if _, err := c.Cookie(negotiateOffCookie); err == nil {
		s.setNegotiateOff(c, false)
	}
	st.NoNegotiate = false
	f, _ := st.takeFlow(flowID)
	c.Set(loginMethodKey, negotiateMethod)
	return s.completeLogin(c, sess, st, providerID, id, f, start, nil)
}

// setNegotiateOff sets (at sign-out) or removes the cookie that stops the
// automatic challenge.
func (s *Server) setNegotiateOff(c echo.Context, off bool) {
	o := s.sessions.options
	ck := &http.Cookie{Name: negotiateOffCookie, Value: "off", Path: o.Path, Secure: o.Secure, HttpOnly: true, SameSite: o.SameSite,
		MaxAge: int(negotiateOffAge / time.Second)}
	if !off {
		ck.Value, ck.MaxAge = "", -1
	}
	c.SetCookie(ck)
}

// afterLogout keeps a signed-out browser from being signed in again by
// its Windows ticket.
func (s *Server) afterLogout(c echo.Context) {
	if _, _, ok := s.negotiator(); ok {
		s.setNegotiateOff(c, true)
	}
}
