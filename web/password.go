package web

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
)

// pendingChange is a flow's password change: whose password, at which
// provider. The current password is not kept: the user types it again on
// the change page, so no password ever sits in the session cookie (or in
// Redis), where a stolen cookie would carry it.
type pendingChange struct {
	Provider string           `json:"p"`
	Username string           `json:"u"`
	Reason   providers.Reason `json:"r"`
}

// Message ids of the change page.
const (
	msgPasswordMismatch = "password.mismatch"
	msgPasswordEmpty    = "password.empty"
	msgCurrentWrong     = "password.current_wrong"
	msgPasswordChanged  = "password.changed"
)

// changeTexts are the message ids of the reasons a new password is refused.
var changeTexts = map[providers.Reason]string{
	providers.ReasonPasswordTooShort:   "password.too_short",
	providers.ReasonPasswordNotComplex: "password.not_complex",
	providers.ReasonPasswordInHistory:  "password.in_history",
	providers.ReasonPasswordTooRecent:  "password.too_recent",
	providers.ReasonPasswordPolicy:     "password.policy",
}

// changeable reports whether err is a refusal that the user can fix by
// changing the password on qlikgate's page, at provider pp.
func changeable(pp providers.PasswordProvider, err error) (providers.Reason, bool) {
	pc, ok := pp.(providers.PasswordChanger)
	var f *providers.Failure
	if !ok || !pc.PasswordChangeEnabled() || !errors.As(err, &f) {
		return "", false
	}
	return f.Reason, f.Reason == providers.ReasonPasswordExpired || f.Reason == providers.ReasonPasswordMustChange
}

// offerPasswordChange shows the change page instead of the refusal, and
// remembers in the flow whose password may be changed.
func (s *Server) offerPasswordChange(c echo.Context, sess *sessions.Session, st *state, flowID, providerID, username string, reason providers.Reason) error {
	f := s.flowFor(st, flowID)
	f.Change = &pendingChange{Provider: providerID, Username: username, Reason: reason}
	v := s.passwordView(st, f.ID, f.Change, msg{})
	s.saveSession(c, sess, st)
	return s.render(c, http.StatusOK, "password", v)
}

func (s *Server) passwordView(st *state, flowID string, pc *pendingChange, m msg) view {
	return view{CSRF: st.CSRF, Flow: flowID, Username: pc.Username, PasswordExpired: pc.Reason == providers.ReasonPasswordExpired, msg: m}
}

// changingFlow is the flow with this id that waits for a password change.
func changingFlow(st *state, id string) *flow {
	for i := range st.Flows {
		if st.Flows[i].ID == id && id != "" && st.Flows[i].Change != nil {
			return &st.Flows[i]
		}
	}
	return nil
}

// handlePasswordChange changes an expired or must-change password (POST
// /password) and, on success, signs the user in with the new one and goes
// on to the flow's target. Only a flow whose login was refused for that
// reason accepts a change, and only for that user: this page never lets
// anyone change another account's password. A wrong current password is a
// failed login for the throttle, as on the login page.
func (s *Server) handlePasswordChange(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	f := changingFlow(st, posted(c, "flow"))
	if f == nil || !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(c.Request().Context(), "password change without a valid CSRF token or pending change", audit.Key, audit.CSRFFailed)
		v := s.loginView(st, s.flowFor(st, posted(c, "flow")).ID, "")
		v.msg = say(msgExpiredForm)
		s.saveSession(c, sess, st)
		return s.render(c, http.StatusForbidden, "login", v)
	}
	pc := *f.Change
	flowID := f.ID
	page := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		return s.render(c, status, "password", s.passwordView(st, flowID, &pc, m))
	}
	pp, ok := s.password[pc.Provider].(providers.PasswordChanger)
	if !ok || !pp.PasswordChangeEnabled() {
		// The configuration was reloaded without password_change.
		return page(http.StatusServiceUnavailable, say(msgUnavailable))
	}
	current, next, bad := postedPasswords(c)
	if bad.id != "" {
		return page(http.StatusBadRequest, bad)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), loginTimeout)
	defer cancel()
	fields := []any{"provider", pc.Provider, "user", truncate(pc.Username, 64), "target", f.Target}
	res, wait := s.reserveAttempt(ctx, log, pc.Provider, pp, pc.Username, c.RealIP())
	if wait == 0 {
		ctx = s.accountGate(ctx, log, pc.Provider, res)
		start := time.Now()
		err := pp.ChangePassword(ctx, pc.Username, current, next)
		if te := (*throttledError)(nil); errors.As(err, &te) {
			s.releaseAttempt(ctx, log, res)
			wait = te.wait
		} else if err != nil {
			return s.changeFailed(c, ctx, log, res, pc, start, err, fields, page)
		}
	}
	if wait > 0 {
		log.WarnContext(ctx, "password change throttled", append([]any{audit.Key, audit.LoginThrottled, "retry_after_s", int(math.Ceil(wait.Seconds()))}, fields...)...)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return page(http.StatusTooManyRequests, throttledMessage(wait))
	}
	log.InfoContext(ctx, "password changed", append([]any{audit.Key, audit.PasswordChanged}, fields...)...)
	start := time.Now()
	id, err := pp.Login(ctx, pc.Username, next)
	if err != nil {
		// Changed, but the sign-in with the new password failed (another
		// domain controller that has not seen the change yet): the user
		// signs in again, no longer with a pending change.
		log.WarnContext(ctx, "sign-in with the new password failed", append([]any{audit.Key, audit.LoginFailed, "reason", failureReason(err), "cause", err.Error()}, fields...)...)
		s.releaseAttempt(ctx, log, res)
		f.Change = nil
		s.saveSession(c, sess, st)
		v := s.loginView(st, flowID, pc.Provider)
		v.msg, v.Username = say(msgPasswordChanged), pc.Username
		return s.render(c, http.StatusOK, "login", v)
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	flw, _ := st.takeFlow(flowID)
	flw.Change = nil
	return s.completeLogin(c, sess, st, pc.Provider, id, flw, start, &passwordLogin{Provider: pc.Provider, Username: pc.Username})
}

// changeFailed answers a refused change: the change page again, with why.
func (s *Server) changeFailed(c echo.Context, ctx context.Context, log *slog.Logger, res *reservation, pc pendingChange, start time.Time,
	err error, fields []any, page func(int, msg) error) error {
	status, m, level := http.StatusUnauthorized, say(msgCurrentWrong), slog.LevelInfo
	switch {
	case errors.Is(err, providers.ErrPasswordRejected):
		// The current password was right: nothing to count.
		s.releaseAttempt(ctx, log, res)
		status, m = http.StatusBadRequest, say(changeTexts[providers.ReasonPasswordPolicy])
		if id, ok := changeTexts[failureReasonOf(err)]; ok {
			m = say(id)
		}
	case errors.Is(err, providers.ErrBadCredentials):
		// The reservation stays: a wrong current password is a failed login.
		defer s.floor.wait(ctx, pc.Provider, start)
	case errors.Is(err, providers.ErrUnavailable):
		s.releaseAttempt(ctx, log, res)
		status, m, level = http.StatusServiceUnavailable, say(msgUnavailable), slog.LevelWarn
	default:
		s.releaseAttempt(ctx, log, res)
		status, m, level = http.StatusInternalServerError, say(msgInternal), slog.LevelError
	}
	log.Log(ctx, level, "password change failed", append([]any{audit.Key, audit.PasswordChangeFailed, "reason", failureReason(err),
		"cause", err.Error(), "duration_ms", ms(time.Since(start))}, fields...)...)
	return page(status, m)
}

func failureReasonOf(err error) providers.Reason {
	var f *providers.Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return ""
}

// postedPasswords reads the change form's current and new password, or
// the message that refuses it before the directory is asked (no new
// password, the confirmation differs, too long).
func postedPasswords(c echo.Context) (current, next string, bad msg) {
	current, next = posted(c, "current_password"), posted(c, "new_password")
	switch {
	case next == "":
		bad = say(msgPasswordEmpty)
	case next != posted(c, "confirm_password"):
		bad = say(msgPasswordMismatch)
	case len(current) > maxPassword || len(next) > maxPassword:
		bad = say(changeTexts[providers.ReasonPasswordPolicy])
	}
	return current, next, bad
}
