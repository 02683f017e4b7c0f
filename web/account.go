package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
)

// passwordLogin is how the signed-in user signed in with a password: the
// name they typed, at which provider. Self-service changes look the
// account up by that name, as the login did, rather than by the Qlik
// UserId, which may come from another attribute than the one searched.
type passwordLogin struct {
	Provider string `json:"p"`
	Username string `json:"u"`
}

const msgPasswordChangedSelf = "password.changed_self"

// selfService returns the provider that can change the signed-in user's
// password, and the name to change it for; ok is false for a user who
// signed in some other way (OIDC, or a provider without password_change).
func (s *Server) selfService(st *state) (pc providers.PasswordChanger, pl passwordLogin, ok bool) {
	// A sign-in that still owes its second factor may do nothing but
	// pass or enrol it.
	if st.User == nil || st.Owes != "" || st.PasswordLogin == nil || st.PasswordLogin.Provider != st.User.Provider {
		return nil, passwordLogin{}, false
	}
	pc, ok = s.password[st.User.Provider].(providers.PasswordChanger)
	if !ok || !pc.PasswordChangeEnabled() {
		return nil, passwordLogin{}, false
	}
	return pc, *st.PasswordLogin, true
}

func (s *Server) accountView(st *state, pl passwordLogin, m msg) view {
	return view{CSRF: st.CSRF, Username: pl.Username, SelfService: true, Action: s.base + "account/password", msg: m}
}

// handleAccountPasswordPage shows a signed-in user the form that changes
// their password (GET /account/password), linked from the sign-out page.
func (s *Server) handleAccountPasswordPage(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	if st.User == nil {
		return s.render(c, http.StatusOK, "signedout", view{})
	}
	_, pl, ok := s.selfService(st)
	if !ok {
		s.saveSession(c, sess, st)
		return s.errorPage(c, http.StatusNotFound, msgNotFound)
	}
	s.saveSession(c, sess, st)
	return s.render(c, http.StatusOK, "password", s.accountView(st, pl, msg{}))
}

// handleAccountPassword changes a signed-in user's password (POST
// /account/password), with the session's CSRF token, throttled and
// audited like the change at sign-in: a wrong current password is a
// failed login of the account. The user stays signed in.
func (s *Server) handleAccountPassword(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	pc, pl, ok := s.selfService(st)
	if !ok || !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(c.Request().Context(), "password change without a valid CSRF token or session", audit.Key, audit.CSRFFailed)
		if st.User == nil {
			return s.errorPage(c, http.StatusForbidden, msgExpiredForm)
		}
		s.saveSession(c, sess, st)
		if !ok {
			return s.errorPage(c, http.StatusForbidden, msgNotFound)
		}
		return s.render(c, http.StatusForbidden, "password", s.accountView(st, pl, say(msgExpiredForm)))
	}
	page := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		return s.render(c, status, "password", s.accountView(st, pl, m))
	}
	current, next, bad := postedPasswords(c)
	if bad.id != "" {
		return page(http.StatusBadRequest, bad)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), loginTimeout)
	defer cancel()
	fields := []any{"provider", pl.Provider, "user", st.User.UserID, "self_service", true}
	res, wait := s.reserveAttempt(ctx, log, pl.Provider, pc, pl.Username, c.RealIP())
	if wait == 0 {
		ctx = s.accountGate(ctx, log, pl.Provider, res)
		start := time.Now()
		err := pc.ChangePassword(ctx, pl.Username, current, next)
		if te := (*throttledError)(nil); errors.As(err, &te) {
			s.releaseAttempt(ctx, log, res)
			wait = te.wait
		} else if err != nil {
			return s.changeFailed(c, ctx, log, res, pendingChange{Provider: pl.Provider, Username: pl.Username}, start, err, fields, page)
		}
	}
	if wait > 0 {
		log.WarnContext(ctx, "password change throttled", append([]any{audit.Key, audit.LoginThrottled, "retry_after_s", int(math.Ceil(wait.Seconds()))}, fields...)...)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return page(http.StatusTooManyRequests, throttledMessage(wait))
	}
	// The current password was right: the failures before it are forgiven,
	// as after a successful login.
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	log.InfoContext(ctx, "password changed", append([]any{audit.Key, audit.PasswordChanged}, fields...)...)
	return page(http.StatusOK, say(msgPasswordChangedSelf))
}
