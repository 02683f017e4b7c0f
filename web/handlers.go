package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// Input bounds: anything longer is not a real username or password, and
// hashing megabytes would be a cheap denial of service.
const (
	maxUsername = 256
	maxPassword = 1024
)

// target returns the target named in the path, or the default one.
func (s *Server) target(c echo.Context) (qlik.Target, bool) {
	id := c.Param("target")
	if id == "" {
		return s.deflt, true
	}
	t, ok := s.targets[id]
	return t, ok
}

// handleEntry is where Qlik sends unauthenticated browsers: GET / and
// GET /t/{target}/. A signed-in browser is handed over at once (single
// sign-on); otherwise the entry is remembered and the login page shown.
func (s *Server) handleEntry(c echo.Context) error {
	t, ok := s.target(c)
	if !ok {
		return s.errorPage(c, http.StatusNotFound, msgUnknownTarget)
	}
	entry, err := t.ParseEntry(c.QueryParams())
	if err != nil {
		// The cause quotes the refused parameter, which anyone can make a
		// megabyte long: the log keeps its beginning.
		s.log.WarnContext(c.Request().Context(), "refused an entry from Qlik", audit.Key, audit.BadEntry, "target", t.ID(), "cause", truncate(err.Error(), 512))
		return s.errorPage(c, http.StatusBadRequest, msgBadEntry)
	}
	sess, st := s.sessions.load(c.Request())
	now := s.now()
	signedIn := st.User != nil && !tooOld(entry.MaxAge, st.AuthAt, now)
	if entry.NoLogin != "" && (!signedIn || st.Owes != "") {
		// The client asked for no login page: it gets its error answer,
		// and a sign-in that owes a factor gets nothing more than that.
		s.log.InfoContext(c.Request().Context(), "entry allows no login page and the browser has no usable sign-in",
			audit.Key, audit.LoginRequired, "target", t.ID())
		if st.touched {
			s.saveSession(c, sess, st)
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.Redirect(http.StatusFound, entry.NoLogin)
	}
	if st.User != nil && !signedIn {
		s.log.InfoContext(c.Request().Context(), "entry asks for a newer sign-in: showing the login page",
			audit.Key, audit.Reauthenticate, "target", t.ID(), "user", st.User.UserID, "signed_in_s", now.Unix()-st.AuthAt)
	}
	if signedIn {
		// Checked before the loop counter: a refusal sends nobody back to
		// Qlik, so reloading the 403 page is no redirect loop.
		if st.Owes == "" { // a sign-in that owes a factor gets no access decision yet
			if refused, err := s.refuseEntry(c, sess, st, t, entry); refused {
				return err
			}
		}
		loop := s.sessions.readLoop(c.Request(), st.SID).next(now)
		if loop.looping() {
			s.log.ErrorContext(c.Request().Context(), "redirect loop: Qlik keeps sending a signed-in user back; check the target's hub_url, the virtual proxy and what the QPS answered above",
				audit.Key, audit.RedirectLoop, "target", t.ID(), "user", st.User.UserID, "handoffs", loop.n, "window", loopWindow.String())
			s.sessions.clearLoop(c.Response())
			if st.touched {
				s.saveSession(c, sess, st)
			}
			return s.errorPage(c, http.StatusBadGateway, msgLoop)
		}
		s.sessions.writeLoop(c.Response(), st.SID, loop)
		return s.handoff(c, sess, st, t, entry)
	}
	flowID := st.addFlow(t.ID(), entry, now).ID
	return s.showLoginOrNegotiate(c, sess, st, flowID)
}

// tooOld says whether a sign-in made at authAt (Unix seconds) is older
// than maxAge allows; a maxAge of 0 allows none (OIDC's prompt=login).
func tooOld(maxAge *time.Duration, authAt int64, now time.Time) bool {
	if maxAge == nil {
		return false
	}
	return *maxAge <= 0 || now.Sub(time.Unix(authAt, 0)) > *maxAge
}

// handleLoginPage shows the login page for a pending entry (?flow=) or for
// the default target.
func (s *Server) handleLoginPage(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	flowID := s.flowFor(st, c.QueryParam("flow")).ID
	s.saveSession(c, sess, st)
	return s.showLogin(c, st, flowID)
}

// showLogin renders the login page, or, when ?provider= names a redirect
// provider, goes straight to it (a portal can link to one sign-in method).
func (s *Server) showLogin(c echo.Context, st *state, flowID string) error {
	selected := c.QueryParam("provider")
	if _, ok := s.redirect[selected]; ok {
		q := url.Values{"flow": {flowID}}
		for _, k := range hintParams {
			if v := c.QueryParam(k); v != "" {
				q.Set(k, v)
			}
		}
		return c.Redirect(http.StatusFound, s.base+"login/"+url.PathEscape(selected)+"?"+q.Encode())
	}
	return s.render(c, http.StatusOK, "login", s.loginView(st, flowID, selected))
}

// flowFor returns the pending flow with this id, or a new flow for the
// default target without entry. The pointer is valid until the next change
// to st.Flows.
func (s *Server) flowFor(st *state, id string) *flow {
	for i := range st.Flows {
		if st.Flows[i].ID == id && id != "" {
			return &st.Flows[i]
		}
	}
	return st.addFlow(s.deflt.ID(), qlik.Entry{}, s.now())
}

func (s *Server) loginView(st *state, flowID, selected string) view {
	v := view{CSRF: st.CSRF, Flow: flowID}
	_, _, v.Negotiate = s.negotiator()
	if s.passwordless {
		v.Data = map[string]any{"Passkey": true}
	}
	for _, p := range s.providers {
		label := p.Label
		if label == "" {
			label = p.ID
		}
		pv := providerView{ID: p.ID, Label: label, Selected: p.ID == selected, Available: true}
		switch impl := p.Impl.(type) {
		case providers.PasswordProvider:
			v.PasswordProviders = append(v.PasswordProviders, pv)
		case providers.RedirectProvider:
			if a, ok := impl.(providers.AvailabilityReporter); ok {
				pv.Available = a.Available()
			}
			v.RedirectProviders = append(v.RedirectProviders, pv)
		}
	}
	return v
}

// loginTimeout bounds a password check. The check runs on a context the
// client cannot cancel (a client that hangs up after posting is still
// counted, and a bind already sent still gets its answer accounted), so
// this is what ends it when a provider hangs.
const loginTimeout = 30 * time.Second

// posted is a field of the request body. Credentials, CSRF tokens and every
// field that changes state are read from the body only, never from the
// URL: a URL ends up in proxy access logs and browser history.
func posted(c echo.Context, name string) string { return c.Request().PostFormValue(name) }

// handleLogin checks a password form and hands the user over to Qlik.
func (s *Server) handleLogin(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	flowID := s.flowFor(st, posted(c, "flow")).ID
	providerID := posted(c, "provider")
	username, password := posted(c, "username"), posted(c, "password")
	fail := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		v := s.loginView(st, flowID, providerID)
		v.msg, v.Invalid = m, status == http.StatusUnauthorized
		if len(username) <= maxUsername {
			v.Username = username
		}
		return s.render(c, status, "login", v)
	}
	throttled := func(wait time.Duration) error {
		log.WarnContext(c.Request().Context(), "login throttled", audit.Key, audit.LoginThrottled, "provider", providerID,
			"user", truncate(username, 64), "retry_after_s", int(math.Ceil(wait.Seconds())))
		s.metrics.observeThrottled(s.provider(providerID))
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return fail(http.StatusTooManyRequests, throttledMessage(wait))
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(c.Request().Context(), "login form with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed)
		return fail(http.StatusForbidden, say(msgExpiredForm))
	}
	if providerID == "" && len(s.password) == 1 {
		for id := range s.password {
			providerID = id
		}
	}
	pp, ok := s.password[providerID]
	if !ok {
		return fail(http.StatusBadRequest, say(msgNoProvider))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), loginTimeout)
	defer cancel()
	// The attempt is counted before the provider is asked: parallel
	// attempts cannot all pass a check that is made before any is counted.
	// Counting is best effort: an unreachable shared store must not stop
	// every login (reserveAttempt logs it). The directory's own lockout
	// still applies.
	res, wait := s.reserveAttempt(ctx, log, providerID, pp, username, c.RealIP())
	if wait > 0 {
		return throttled(wait)
	}
	// However the user was found, the account itself has one limit too.
	ctx = s.accountGate(ctx, log, providerID, res)
	start := time.Now()
	var (
		id  providers.Identity
		err error
	)
	if len(username) > maxUsername || len(password) > maxPassword {
		err = &providers.Failure{Reason: providers.ReasonInputTooLong, Err: providers.ErrBadCredentials}
	} else {
		id, err = pp.Login(ctx, username, password)
	}
	if te := (*throttledError)(nil); errors.As(err, &te) {
		s.releaseAttempt(ctx, log, res)
		return throttled(te.wait)
	}
	s.metrics.observeLogin(s.provider(providerID), err, time.Since(start))
	if err != nil {
		status, m, level := http.StatusUnauthorized, failureMessage(err, msgBadCredentials), slog.LevelInfo
		switch {
		case errors.Is(err, providers.ErrBadCredentials):
			// The reservation stays: it was a failure.
		case errors.Is(err, providers.ErrUnavailable):
			// No password reached a directory that could not be asked.
			s.releaseAttempt(ctx, log, res)
			status, m, level = http.StatusServiceUnavailable, say(msgUnavailable), slog.LevelWarn
		default:
			status, m, level = http.StatusInternalServerError, say(msgInternal), slog.LevelError
		}
		log.Log(ctx, level, "login failed", audit.Key, audit.LoginFailed, "provider", providerID,
			"user", truncate(username, 64), "reason", failureReason(err), "target", s.flowTarget(st, flowID),
			"cause", err.Error(), "duration_ms", ms(time.Since(start)))
		if reason, ok := changeable(pp, err); ok {
			// The directory says so only after the right password: no
			// wrong password reached it, so the attempt is taken back.
			if rerr := res.release(ctx); rerr != nil {
				log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", rerr.Error())
			}
			return s.offerPasswordChange(c, sess, st, flowID, providerID, username, reason)
		}
		s.floor.wait(ctx, providerID, start)
		return fail(status, m)
	}
	s.floor.observeSuccess(providerID, time.Since(start))
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	f, _ := st.takeFlow(flowID)
	return s.completeLogin(c, sess, st, providerID, id, f, start, &passwordLogin{Provider: providerID, Username: username})
}

// reserveAttempt counts an attempt for username at provider and the
// client's address, for a login or a password change; wait > 0 means the
// attempt must not go ahead. An unreachable store lets it go uncounted.
func (s *Server) reserveAttempt(ctx context.Context, log *slog.Logger, providerID string, pp providers.PasswordProvider, username, ip string) (*reservation, time.Duration) {
	userKey, ipKey := throttleKeys(providerID, lookupName(pp, username), ip)
	wait, res, err := s.throttle.reserve(ctx, s.now(),
		limitKey{key: userKey, limit: s.cfg.Security.MaxAttempts, perAccount: true},
		limitKey{key: ipKey, limit: s.cfg.Security.IPMaxAttempts})
	if err != nil {
		log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
		return nil, 0
	}
	return res, wait
}

// accountGate counts the attempt against the account the provider finds
// too, as handleLogin does.
func (s *Server) accountGate(ctx context.Context, log *slog.Logger, providerID string, res *reservation) context.Context {
	return providers.WithAccountGate(ctx, func(ctx context.Context, account string) error {
		wait, err := res.add(ctx, limitKey{key: accountKey(providerID, account), limit: s.cfg.Security.MaxAttempts, perAccount: true})
		if err != nil {
			log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
			return nil
		}
		if wait > 0 {
			return &throttledError{wait: wait}
		}
		return nil
	})
}

func (s *Server) releaseAttempt(ctx context.Context, log *slog.Logger, res *reservation) {
	if err := res.release(ctx); err != nil {
		log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
}

// throttledError is what the account gate returns when the account a
// provider found must wait.
type throttledError struct{ wait time.Duration }

func (e *throttledError) Error() string {
	return fmt.Sprintf("the account must wait %v: %v", e.wait, providers.ErrThrottled)
}
func (e *throttledError) Unwrap() error { return providers.ErrThrottled }

// lookupName is the name provider p will look up for typed: what the
// throttle counts against, so that every spelling of one user shares one
// limit.
func lookupName(p providers.PasswordProvider, typed string) string {
	if n, ok := p.(providers.UsernameNormalizer); ok {
		if name := n.NormalizeUsername(typed); name != "" {
			return name
		}
	}
	return typed
}

// completeLogin records a successful login, whatever the provider kind, and
// hands the user to the target of the flow the login belonged to.
func (s *Server) completeLogin(c echo.Context, sess *sessions.Session, st *state, providerID string, id providers.Identity, f flow, start time.Time, pl *passwordLogin) error {
	p := s.provider(providerID)
	id.Provider, id.Directory = p.ID, p.Directory
	st.login(id, s.now())
	st.PasswordLogin = pl
	attrs := []any{audit.Key, audit.LoginSucceeded, "provider", providerID, "user", id.UserID,
		"directory", id.Directory, "duration_ms", ms(time.Since(start))}
	if m, ok := c.Get(loginMethodKey).(string); ok {
		attrs = append(attrs, "method", m)
	}
	s.log.InfoContext(c.Request().Context(), "login succeeded", attrs...)
	t, ok := s.targets[f.Target]
	if !ok {
		t = s.deflt
	}
	owes, err := s.owedFactor(c.Request().Context(), p, st)
	if err != nil {
		s.log.ErrorContext(c.Request().Context(), "the MFA store could not be asked: the login stops here", audit.Key, audit.MFAError,
			"provider", providerID, "user", id.UserID, "cause", err.Error())
		st.User = nil
		s.saveSession(c, sess, st)
		return s.errorPage(c, http.StatusServiceUnavailable, msgUnavailable)
	}
	st.Owes = owes
	if f.Window != "" {
		return s.resumeWindow(c, sess, st, f)
	}
	return s.handoff(c, sess, st, t, f.Entry)
}

// flowTarget is the target a pending flow leads to, for log lines.
func (s *Server) flowTarget(st *state, flowID string) string {
	for _, f := range st.Flows {
		if f.ID == flowID {
			return f.Target
		}
	}
	return s.deflt.ID()
}

func (s *Server) provider(id string) Provider {
	for _, p := range s.providers {
		if p.ID == id {
			return p
		}
	}
	return Provider{}
}

// handoff sends a signed-in user to Qlik through target t. The session is
// written only if it changed: at login, at the first hand-off to t, or
// when load refreshed it. A single sign-on pass-through leaves it as the
// browser sent it.
func (s *Server) handoff(c echo.Context, sess *sessions.Session, st *state, t qlik.Target, e qlik.Entry) error {
	if st.Owes != "" {
		return s.deferHandoff(c, sess, st, t, e)
	}
	if refused, err := s.refuseEntry(c, sess, st, t, e); refused {
		return err
	}
	u := qlikUser(*st.User)
	u.AuthTime = time.Unix(st.AuthAt, 0)
	start := time.Now()
	e.Kept = st.Kept[t.ID()]
	h, err := t.Login(c.Request().Context(), u, e)
	if err == nil && h.Redirect == "" && h.Page == nil {
		err = errors.New("target returned neither a redirect nor a page")
	}
	s.metrics.observeHandoff(t.ID(), s.kinds[t.ID()], err, time.Since(start))
	if err != nil {
		s.log.ErrorContext(c.Request().Context(), "hand-off to Qlik failed", audit.Key, audit.HandoffFailed, "target", t.ID(), "user", u.UserID,
			"cause", err.Error(), "duration_ms", ms(time.Since(start)))
		if st.touched {
			s.saveSession(c, sess, st)
		}
		switch {
		case errors.Is(err, qlik.ErrBadEntry):
			return s.errorPage(c, http.StatusBadRequest, msgBadEntry)
		case errors.Is(err, qlik.ErrSessionLimit):
			return s.problem(c, http.StatusTooManyRequests, say(msgSessionLimit), s.entryURL(t))
		case unreachable(err):
			// Trying again goes through single sign-on to the same target.
			return s.problem(c, http.StatusServiceUnavailable, say(msgQlikUnavailable), s.entryURL(t))
		}
		return s.errorPage(c, http.StatusBadGateway, msgQlikRefused)
	}
	added := st.addTarget(t.ID())
	if st.keep(t.ID(), h.Keep) {
		added = true
	}
	closingEvent(c, "handed off to Qlik", slog.String(audit.Key, audit.Handoff), slog.String("target", t.ID()),
		slog.String("user", u.UserID), slog.Float64("qlik_ms", ms(time.Since(start))))
	for _, ck := range h.Cookies {
		c.SetCookie(ck)
	}
	if added || st.touched {
		s.saveSession(c, sess, st)
	}
	if h.Page != nil {
		return s.renderHandoffPage(c, h.Page)
	}
	// A shared, read-only value, as securityHeaders' are: one allocation
	// fewer on the request qlikgate serves most.
	c.Response().Header()["Cache-Control"] = noStore
	return c.Redirect(http.StatusFound, h.Redirect)
}

// noStore is the Cache-Control value of a hand-off's redirect; its cap is
// its length, so an Add copies rather than writes into it.
var noStore = []string{"no-store"}[:1:1]

// originPattern is scheme://host[:port], nothing that could end a CSP directive.
var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)

// renderHandoffPage shows a page that finishes the hand-off in the browser.
// Only such pages run a script, so only they get script-src, and only
// towards the origins the target named.
func (s *Server) renderHandoffPage(c echo.Context, p *qlik.HandoffPage) error {
	if _, ok := s.pages.sets[p.Template]; !ok {
		return fmt.Errorf("web: hand-off page %q has no template", p.Template)
	}
	connect := "'none'"
	if len(p.ConnectOrigins) > 0 {
		for _, o := range p.ConnectOrigins {
			if !originPattern.MatchString(o) {
				return fmt.Errorf("web: hand-off page %q: %q is not an origin", p.Template, o)
			}
		}
		connect = strings.Join(p.ConnectOrigins, " ")
	}
	c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy(s.cfg.Server.FrameAncestors, "'self'", connect))
	return s.render(c, http.StatusOK, p.Template, view{Data: p.Data})
}

// handleLogoutPage asks a signed-in user to confirm (GET /logout): signing
// out changes state, so it needs the session's CSRF token, which only a
// POST from qlikgate's own page carries. Without a session there is
// nothing to confirm.
func (s *Server) handleLogoutPage(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	if st.User == nil {
		return s.render(c, http.StatusOK, "signedout", view{})
	}
	s.saveSession(c, sess, st)
	_, _, change := s.selfService(st)
	return s.render(c, http.StatusOK, "logout", view{CSRF: st.CSRF, Action: s.logoutPath(c), SelfService: change})
}

func (s *Server) logoutPath(c echo.Context) string {
	if t := c.Param("target"); t != "" {
		return s.base + "t/" + url.PathEscape(t) + "/logout"
	}
	return s.base + "logout"
}

// handleLogout ends the qlikgate session and the Qlik sessions of the
// targets it handed the user to (or of the target in the path), on a POST
// with the session's CSRF token. A target may need the browser for its
// part (remove a cookie, visit a logout URL): cookies are applied, and the
// first redirect is followed instead of showing the signed-out page.
func (s *Server) handleLogout(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	if st.User != nil && !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(c.Request().Context(), "logout without a valid CSRF token", audit.Key, audit.CSRFFailed, "user", st.User.UserID)
		s.saveSession(c, sess, st)
		v := view{CSRF: st.CSRF, Action: s.logoutPath(c), msg: say(msgExpiredLogout)}
		return s.render(c, http.StatusForbidden, "logout", v)
	}
	var redirect string
	if st.User != nil {
		ids := st.Targets
		if c.Param("target") != "" {
			ids = []string{c.Param("target")}
		}
		u := qlikUser(*st.User)
		for _, id := range ids {
			t, ok := s.targets[id]
			if !ok {
				continue
			}
			h, err := t.Logout(c.Request().Context(), u)
			if err != nil {
				log.WarnContext(c.Request().Context(), "Qlik logout failed", audit.Key, audit.LogoutFailed, "target", id, "user", u.UserID, "cause", err.Error())
			}
			for _, ck := range h.Cookies {
				c.SetCookie(ck)
			}
			if redirect == "" {
				redirect = h.Redirect
			}
		}
		log.InfoContext(c.Request().Context(), "signed out", audit.Key, audit.Logout, "user", u.UserID, "provider", st.User.Provider)
	}
	if err := s.sessions.revoke(c.Request().Context(), st); err != nil {
		log.Error("the sign-out could not be saved: this instance refuses the session until it restarts, but after a restart a copy of the cookie works again",
			"event", "revocation_failed", "cause", err.Error())
	}
	if err := s.sessions.clear(c.Response(), c.Request(), sess); err != nil {
		log.ErrorContext(c.Request().Context(), "clearing the session cookie failed", "cause", err.Error())
	}
	s.afterLogout(c)
	if redirect != "" {
		return c.Redirect(http.StatusFound, redirect)
	}
	return s.render(c, http.StatusOK, "signedout", view{})
}

// saveSession writes the session cookie; a failure is logged, not shown:
// the request can still complete, only single sign-on is lost.
func (s *Server) saveSession(c echo.Context, sess *sessions.Session, st *state) {
	if err := s.sessions.save(c.Response(), c.Request(), sess, st); err != nil {
		s.log.WarnContext(c.Request().Context(), "could not save the session: single sign-on will not work for this browser", audit.Key, audit.SessionSaveFailed, "cause", err.Error())
	}
}

func validToken(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func qlikUser(id providers.Identity) qlik.User {
	return qlik.User{Directory: id.Directory, UserID: id.UserID, Name: id.Name, Email: id.Email, Groups: id.Groups, Attributes: id.Attributes}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// entryURL is where Qlik sends users for target t: the address that
// starts over for it.
func (s *Server) entryURL(t qlik.Target) string {
	if t == s.deflt {
		return s.base
	}
	return s.base + "t/" + url.PathEscape(t.ID()) + "/"
}

// unreachable reports whether a hand-off failed because Qlik could not be
// reached (no connection, timeout) rather than because it answered no:
// only then is "try again in a few minutes" the right advice. A refused
// TLS handshake is a net.OpError too, but "remote error", not "dial": a
// certificate problem for the administrator, not an outage.
func unreachable(err error) bool {
	var op *net.OpError
	var ne net.Error
	return (errors.As(err, &op) && op.Op == "dial") || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
