package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store"
	"github.com/qlikgate/qlikgate/qlik"
)

// MFAOptions is what the second-factor step needs: the enrolment store and
// the sealer of TOTP secrets. main opens them once and passes them to every
// server it builds (they outlive a reload, and web does not close them).
type MFAOptions struct {
	Store  store.Store
	Sealer *mfa.Sealer
	// RPID is mfa.rp_id: the passkeys' relying party id, "" for the host
	// of server.public_url.
	RPID string
}

// What a session still owes after the provider said yes (state.Owes).
const (
	owesTOTP  = "totp"  // enrolled: a code (or a recovery code)
	owesEnrol = "enrol" // required but not enrolled: enrolment, confirmed by a code
)

// Factors recorded in state.Factors once passed.
const (
	factorTOTP     = "totp"
	factorRecovery = "recovery"
)

// mfaTimeout bounds a store call, which runs on a context the client
// cannot cancel (a counted attempt must be counted to its end).
const mfaTimeout = 10 * time.Second

// useMFA checks that every provider whose policy enables a second factor
// has a store to keep enrolments in.
func (s *Server) useMFA(o Options) error {
	s.mfa = o.MFA
	for _, p := range o.Providers {
		if err := p.MFA.Validate(); err != nil && p.MFA.Mode != "" {
			return keyed("providers."+p.ID+".mfa.", err)
		}
		if p.MFA.Enabled() && (o.MFA.Store == nil || o.MFA.Sealer == nil) {
			return fmt.Errorf("web: provider %q has mfa.mode %q but no MFA store and sealer were given", p.ID, p.MFA.Mode)
		}
	}
	return s.usePasskeys(o)
}

func (s *Server) mfaRoutes(g *echo.Group, post *guardedRoutes) error {
	g.GET("/mfa", s.handleMFAPage)
	g.GET("/mfa/enrol", s.handleEnrolPage)
	g.GET("/mfa/totp.png", s.handleTOTPImage)
	g.GET("/mfa/continue", s.handleMFAContinue)
	g.GET("/security", s.handleSecurityPage)
	return errors.Join(
		post.post("/mfa", s.handleMFAVerify, msgExpiredForm),
		post.post("/mfa/enrol", s.handleEnrolConfirm, msgExpiredForm),
		post.post("/security/totp/remove", s.handleTOTPRemove, msgExpiredForm),
		s.passkeyRoutes(post),
	)
}

// mfaUser is the store's key for the signed-in user.
func mfaUser(st *state) store.User {
	return store.User{Provider: st.User.Provider, UserID: st.User.UserID}
}

// owedFactor decides, right after the provider said yes, what the
// session still owes: a code when the user is enrolled, enrolment when
// the policy requires a factor the user does not have yet. A store that
// cannot be asked fails closed.
func (s *Server) owedFactor(ctx context.Context, p Provider, st *state) (string, error) {
	if !p.MFA.Enabled() {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, mfaTimeout)
	defer cancel()
	t, err := s.mfa.Store.TOTP(ctx, mfaUser(st))
	switch {
	case err == nil && t.Confirmed:
		return owesTOTP, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	if p.MFA.Offers(mfa.MethodWebAuthn) {
		keys, err := s.mfa.Store.Passkeys(ctx, mfaUser(st))
		if err != nil {
			return "", err
		}
		if len(keys) > 0 {
			return owesTOTP, nil
		}
	}
	switch {
	case p.MFA.Requires(st.User.Groups):
		return owesEnrol, nil
	}
	return "", nil
}

// deferHandoff keeps the entry a session that owes a factor was heading
// for, and sends the browser to the second step instead: no hand-off
// route gives anything to such a session.
func (s *Server) deferHandoff(c echo.Context, sess *sessions.Session, st *state, t qlik.Target, e qlik.Entry) error {
	f := st.addFlow(t.ID(), e, s.now())
	s.saveSession(c, sess, st)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, s.base+"mfa?"+url.Values{"flow": {f.ID}}.Encode())
}

// passFactor records a passed second factor and rotates the session ids,
// as at login: an id seen before the second factor is worthless after it.
func (s *Server) passFactor(st *state, factor string) {
	st.SID, st.CSRF = randomID(), randomID()
	st.Owes = ""
	st.Factors = append(st.Factors, factor)
	st.touched = true
}

// continueFlow hands a user who owes nothing to the target of the flow.
func (s *Server) continueFlow(c echo.Context, sess *sessions.Session, st *state, flowID string) error {
	f, ok := st.takeFlow(flowID)
	if ok && f.Window != "" {
		return s.resumeWindow(c, sess, st, f)
	}
	t, known := s.targets[f.Target]
	if !ok || !known {
		t, f.Entry = s.deflt, qlik.Entry{}
	}
	return s.handoff(c, sess, st, t, f.Entry)
}

func (s *Server) mfaView(st *state, flowID string, data map[string]any) view {
	return view{CSRF: st.CSRF, Flow: flowID, Username: st.User.UserID, Data: data}
}

// handleMFAPage is the second step: the code form for an enrolled user,
// enrolment for one who must enrol.
func (s *Server) handleMFAPage(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	flowID := c.QueryParam("flow")
	switch {
	case st.User == nil:
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"login")
	case st.Owes == owesEnrol:
		return c.Redirect(http.StatusFound, s.base+"mfa/enrol?"+url.Values{"flow": {flowID}}.Encode())
	case st.Owes == "":
		return c.Redirect(http.StatusFound, s.base+"security")
	}
	if st.touched {
		s.saveSession(c, sess, st)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), mfaTimeout)
	defer cancel()
	return s.renderSecondStep(c, ctx, st, flowID, http.StatusOK, msg{})
}

// handleMFAVerify checks a TOTP code or a recovery code. Failures count
// per user on keys of their own, so they lock the second step only,
// never the directory account, and never the password step.
func (s *Server) handleMFAVerify(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	flowID := posted(c, "flow")
	if st.User == nil || st.Owes != owesTOTP {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"mfa?"+url.Values{"flow": {flowID}}.Encode())
	}
	fail := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		return s.renderSecondStep(c, c.Request().Context(), st, flowID, status, m)
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(c.Request().Context(), "second-factor form with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed, "user", st.User.UserID)
		return fail(http.StatusForbidden, say(msgExpiredForm))
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mfaTimeout)
	defer cancel()
	wait, res, err := s.throttle.reserve(ctx, s.now(),
		s.mfaUserKey(u),
		limitKey{key: "mfaip:" + c.RealIP(), limit: s.cfg.Security.IPMaxAttempts})
	if err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	} else if wait > 0 {
		log.WarnContext(ctx, "second factor throttled", audit.Key, audit.MFAThrottled, "provider", u.Provider, "user", u.UserID,
			"retry_after_s", int(math.Ceil(wait.Seconds())))
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return fail(http.StatusTooManyRequests, throttledMessage(wait))
	}
	factor, reason, err := s.checkSecondFactor(ctx, u, posted(c, "code"), posted(c, "recovery_code"))
	if err != nil {
		// The store could not answer: no attempt was judged.
		if rerr := res.release(ctx); rerr != nil {
			log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", rerr.Error())
		}
		log.ErrorContext(ctx, "second factor could not be checked", audit.Key, audit.MFAError, "provider", u.Provider, "user", u.UserID, "cause", err.Error())
		return fail(http.StatusServiceUnavailable, say(msgUnavailable))
	}
	if factor == "" {
		log.InfoContext(ctx, "second factor refused", audit.Key, audit.MFAFailed, "provider", u.Provider, "user", u.UserID, "reason", reason)
		return fail(http.StatusUnauthorized, say(msgMFABadCode))
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	s.passFactor(st, factor)
	log.InfoContext(ctx, "second factor passed", audit.Key, audit.MFAVerified, "provider", u.Provider, "user", u.UserID, "method", factor)
	return s.continueFlow(c, sess, st, flowID)
}

// checkSecondFactor returns the factor passed, or "" and why not. Each
// acceptance is one conditional write in the store, so a code sent twice
// at once passes once.
func (s *Server) checkSecondFactor(ctx context.Context, u store.User, code, recovery string) (factor, reason string, err error) {
	if recovery != "" {
		rc, ok := mfa.ParseRecoveryCode(recovery)
		if !ok {
			return "", "malformed_recovery_code", nil
		}
		used, err := s.mfa.Store.UseRecoveryCode(ctx, u, mfa.HashRecoveryCode(rc))
		if err != nil || !used {
			return "", "wrong_recovery_code", err
		}
		return factorRecovery, "", nil
	}
	cd, ok := mfa.ParseCode(code)
	if !ok {
		return "", "malformed_code", nil
	}
	t, err := s.mfa.Store.TOTP(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return "", "not_enrolled", nil
	} else if err != nil {
		return "", "", err
	}
	secret, err := s.mfa.Sealer.Open(u.Key(), t.Sealed)
	if err != nil {
		return "", "", err
	}
	step, ok := mfa.MatchTOTP(secret, cd, s.now())
	if !ok {
		return "", "wrong_code", nil
	}
	accepted, err := s.mfa.Store.AcceptTOTPStep(ctx, u, step)
	if err != nil || !accepted {
		return "", "replayed_code", err
	}
	return factorTOTP, "", nil
}

// mayEnrol reports whether the session may see enrolment: it must enrol,
// or it passed every factor and its provider offers one.
func (s *Server) mayEnrol(st *state) bool {
	if st.User == nil {
		return false
	}
	return st.Owes == owesEnrol || (st.Owes == "" && s.provider(st.User.Provider).MFA.Enabled())
}

// handleEnrolPage starts an enrolment: a new secret, stored unconfirmed
// and sealed, shown as a QR code and as text.
func (s *Server) handleEnrolPage(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	flowID := c.QueryParam("flow")
	if !s.mayEnrol(st) {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"mfa?"+url.Values{"flow": {flowID}}.Encode())
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(c.Request().Context(), mfaTimeout)
	defer cancel()
	if !s.provider(st.User.Provider).MFA.Offers(mfa.MethodTOTP) {
		// Passkeys only: nothing to begin here, the script asks for options.
		if st.touched {
			s.saveSession(c, sess, st)
		}
		return s.renderEnrol(c, ctx, st, flowID, http.StatusOK, msg{})
	}
	key, err := mfa.NewTOTPKey(s.issuer(st), u.UserID)
	if err != nil {
		return err
	}
	sealed, err := s.mfa.Sealer.Seal(u.Key(), key.Secret())
	if err != nil {
		return err
	}
	if err := s.mfa.Store.BeginTOTP(ctx, u, sealed, s.now()); errors.Is(err, store.ErrEnrolled) {
		return c.Redirect(http.StatusFound, s.base+"security")
	} else if err != nil {
		s.logger(c).ErrorContext(ctx, "could not store a new TOTP secret", audit.Key, audit.MFAError, "provider", u.Provider, "user", u.UserID, "cause", err.Error())
		return s.problem(c, http.StatusServiceUnavailable, say(msgUnavailable), s.base+"mfa/enrol?"+url.Values{"flow": {flowID}}.Encode())
	}
	if st.touched {
		s.saveSession(c, sess, st)
	}
	return s.renderEnrol(c, ctx, st, flowID, http.StatusOK, msg{})
}

// issuer is the name authenticator apps show for the user's provider.
func (s *Server) issuer(st *state) string {
	if n := s.provider(st.User.Provider).MFA.IssuerName; n != "" {
		return n
	}
	return s.cfg.UI.Title
}

// handleTOTPImage draws the QR code of the enrolment in progress; there is
// none once it is confirmed, so the secret cannot be fetched again later.
func (s *Server) handleTOTPImage(c echo.Context) error {
	_, st := s.sessions.load(c.Request())
	if !s.mayEnrol(st) {
		return echo.ErrNotFound
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(c.Request().Context(), mfaTimeout)
	defer cancel()
	t, err := s.mfa.Store.TOTP(ctx, u)
	if err != nil || t.Confirmed {
		return echo.ErrNotFound
	}
	secret, err := s.mfa.Sealer.Open(u.Key(), t.Sealed)
	if err != nil {
		return fmt.Errorf("open the TOTP secret of %s: %w", u.Key(), err)
	}
	png, err := mfa.QRCode(s.issuer(st), u.UserID, secret)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", png)
}

// handleEnrolConfirm counts the enrolment once the user typed a code from
// it, and shows the recovery codes, once.
func (s *Server) handleEnrolConfirm(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	flowID := posted(c, "flow")
	if !s.mayEnrol(st) {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"mfa?"+url.Values{"flow": {flowID}}.Encode())
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mfaTimeout)
	defer cancel()
	fail := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		return s.renderEnrol(c, ctx, st, flowID, status, m)
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(ctx, "enrolment form with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed, "user", st.User.UserID)
		return fail(http.StatusForbidden, say(msgExpiredForm))
	}
	wait, res, err := s.throttle.reserve(ctx, s.now(),
		s.mfaUserKey(u))
	if err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	} else if wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return fail(http.StatusTooManyRequests, throttledMessage(wait))
	}
	t, err := s.mfa.Store.TOTP(ctx, u)
	if err != nil || t.Confirmed {
		return c.Redirect(http.StatusFound, s.base+"mfa/enrol?"+url.Values{"flow": {flowID}}.Encode())
	}
	secret, err := s.mfa.Sealer.Open(u.Key(), t.Sealed)
	if err != nil {
		return fmt.Errorf("open the TOTP secret of %s: %w", u.Key(), err)
	}
	code, _ := mfa.ParseCode(posted(c, "code"))
	step, ok := mfa.MatchTOTP(secret, code, s.now())
	if !ok {
		log.InfoContext(ctx, "enrolment code refused", audit.Key, audit.MFAFailed, "provider", u.Provider, "user", u.UserID, "reason", "wrong_code")
		return fail(http.StatusUnauthorized, say(msgMFABadCode))
	}
	codes := mfa.NewRecoveryCodes()
	hashes := make([]string, len(codes))
	for i, rc := range codes {
		hashes[i] = mfa.HashRecoveryCode(rc)
	}
	confirmed, err := s.mfa.Store.ConfirmTOTP(ctx, u, step, hashes)
	if err != nil {
		log.ErrorContext(ctx, "could not confirm the enrolment", audit.Key, audit.MFAError, "provider", u.Provider, "user", u.UserID, "cause", err.Error())
		return fail(http.StatusServiceUnavailable, say(msgUnavailable))
	}
	if !confirmed {
		return fail(http.StatusUnauthorized, say(msgMFABadCode))
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	if st.Owes == owesEnrol {
		s.passFactor(st, factorTOTP)
	}
	log.InfoContext(ctx, "TOTP enrolled", audit.Key, audit.MFAEnrolled, "provider", u.Provider, "user", u.UserID, "method", mfa.MethodTOTP)
	s.saveSession(c, sess, st)
	return s.render(c, http.StatusOK, "mfa_recovery", s.mfaView(st, flowID, map[string]any{"Codes": codes}))
}

// handleMFAContinue goes on to Qlik after the recovery codes were shown.
func (s *Server) handleMFAContinue(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	if st.User == nil {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"login")
	}
	return s.continueFlow(c, sess, st, c.QueryParam("flow"))
}

// handleSecurityPage shows the user's second factor, with enrolment or
// removal. A session that still owes a factor goes back to the second step.
func (s *Server) handleSecurityPage(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	switch {
	case st.User == nil:
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"login")
	case st.Owes != "":
		return c.Redirect(http.StatusFound, s.base+"mfa")
	}
	if st.touched {
		s.saveSession(c, sess, st)
	}
	return s.renderSecurity(c, st, http.StatusOK, msg{})
}

func (s *Server) renderSecurity(c echo.Context, st *state, status int, m msg) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), mfaTimeout)
	defer cancel()
	data, err := s.factorsData(ctx, st)
	if err != nil {
		return s.problem(c, http.StatusServiceUnavailable, say(msgUnavailable), s.base+"security")
	}
	if data["OffersPasskey"] == true {
		s.passkeyScript(c)
	}
	v := s.mfaView(st, "", data)
	v.msg, v.Invalid = m, status == http.StatusUnauthorized
	return s.render(c, status, "security", v)
}

// handleTOTPRemove removes the user's TOTP enrolment; it asks for a
// current code, so a session left open on a shared computer cannot take
// the factor away.
func (s *Server) handleTOTPRemove(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	if st.User == nil || st.Owes != "" {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"mfa")
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(c.Request().Context(), "removal form with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed, "user", st.User.UserID)
		return s.renderSecurity(c, st, http.StatusForbidden, say(msgExpiredForm))
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mfaTimeout)
	defer cancel()
	wait, res, err := s.throttle.reserve(ctx, s.now(),
		s.mfaUserKey(u))
	if err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	} else if wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return s.renderSecurity(c, st, http.StatusTooManyRequests, throttledMessage(wait))
	}
	factor, reason, err := s.checkSecondFactor(ctx, u, posted(c, "code"), "")
	if err != nil {
		return s.problem(c, http.StatusServiceUnavailable, say(msgUnavailable), s.base+"security")
	}
	if factor == "" {
		log.InfoContext(ctx, "second factor refused", audit.Key, audit.MFAFailed, "provider", u.Provider, "user", u.UserID, "reason", reason)
		return s.renderSecurity(c, st, http.StatusUnauthorized, say(msgMFABadCode))
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	if _, err := s.mfa.Store.RemoveTOTP(ctx, u); err != nil {
		log.ErrorContext(ctx, "could not remove the enrolment", audit.Key, audit.MFAError, "provider", u.Provider, "user", u.UserID, "cause", err.Error())
		return s.problem(c, http.StatusServiceUnavailable, say(msgUnavailable), s.base+"security")
	}
	st.Factors = slices.DeleteFunc(st.Factors, func(f string) bool { return f == factorTOTP || f == factorRecovery })
	st.touched = true
	s.saveSession(c, sess, st)
	log.InfoContext(ctx, "TOTP removed by the user", audit.Key, audit.MFAReset, "provider", u.Provider, "user", u.UserID, "by", "user")
	return s.renderSecurity(c, st, http.StatusOK, say(msgMFARemoved))
}

// mfaUserKey is the throttle key of a user's second-factor attempts, apart
// from the password's so that wrong codes do not lock the password step.
func (s *Server) mfaUserKey(u store.User) limitKey {
	return limitKey{key: "mfa:" + u.Provider + ":" + keyName(u.UserID), limit: s.cfg.Security.MaxAttempts, perAccount: true}
}
