package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store"
	"github.com/qlikgate/qlikgate/providers"
)

// Passkeys (WebAuthn): registration on the Security page (or as the
// enrolment a required policy asks for), a passkey as the second factor,
// and passwordless sign-in with a discoverable passkey. Each ceremony is
// begun by a script (static/webauthn.js) asking POST /mfa/passkey/options,
// which keeps the ceremony in the session; the browser's signed answer
// then comes back in an ordinary form post, so the outcome is a page like
// any other. Every answer's challenge is spent in the enrolment store, so
// a copied session cookie and a recorded answer cannot be played again.

// Purposes of a ceremony (state.Passkey.Purpose).
const (
	purposeRegister = "register" // add a passkey to the signed-in user
	purposeVerify   = "verify"   // one of the user's passkeys: second factor, or confirming a removal
	purposeLogin    = "login"    // any discoverable passkey: passwordless sign-in
)

// Factors passed with a passkey (state.Factors).
const (
	factorWebAuthn = "webauthn" // a passkey as the second factor
	factorPasskey  = "passkey"  // passwordless: the passkey, with user verification, was the whole sign-in
)

// Message ids of the passkey pages.
const (
	msgPasskeyFailed  = "passkey.failed"
	msgPasskeyAdded   = "passkey.added"
	msgPasskeyRemoved = "passkey.removed"
	msgPasskeyExists  = "passkey.exists"
)

// passkeyCeremony is a begun ceremony, kept in the session until the
// answer comes: go-webauthn's session data (challenge, allowed
// credentials, expiry), which the browser cannot read or change.
type passkeyCeremony struct {
	Purpose string          `json:"p"`
	Session json.RawMessage `json:"s"`
}

// passkeyCSP is the policy of a page with a passkey button: the default
// one (contentSecurityPolicy) plus qlikgate's own script and fetches to
// qlikgate; forms still post anywhere qlikgate's pages post.
func passkeyCSP(frameAncestors []string) string {
	return strings.Replace(contentSecurityPolicy(frameAncestors, "", ""), "default-src 'none'; ",
		"default-src 'none'; script-src 'self'; connect-src 'self'; ", 1)
}

// usePasskeys builds the relying party when a provider offers passkeys,
// and checks that every passwordless provider can look a user up.
func (s *Server) usePasskeys(o Options) error {
	offered := false
	for _, p := range o.Providers {
		if !p.MFA.Offers(mfa.MethodWebAuthn) {
			continue
		}
		offered = true
		if _, ok := p.Impl.(providers.IdentityLookup); p.MFA.Passwordless && !ok {
			return fmt.Errorf("providers.%s.mfa.passwordless: a %s provider cannot find a user without their password; use passkeys as the second factor instead", p.ID, p.Kind)
		}
		if p.MFA.Passwordless {
			s.passwordless = true
		}
	}
	if !offered {
		return nil
	}
	rp, err := mfa.NewRelyingParty(o.Config.Server.PublicURL, o.MFA.RPID, o.Config.UI.Title)
	if err != nil {
		return err
	}
	s.rp = rp
	return nil
}

func (s *Server) passkeyRoutes(post *guardedRoutes) error {
	return errors.Join(
		post.postAPI("/mfa/passkey/options", s.handlePasskeyOptions, func(c echo.Context) error {
			return c.JSON(http.StatusForbidden, map[string]string{"error": "origin_not_allowed"})
		}),
		post.post("/mfa/passkey/register", s.handlePasskeyRegister, msgExpiredForm),
		post.post("/mfa/passkey", s.handlePasskeyVerify, msgExpiredForm),
		post.post("/login/passkey", s.handlePasskeyLogin, msgExpiredForm),
		post.post("/security/passkey/remove", s.handlePasskeyRemove, msgExpiredForm),
	)
}

// offersPasskeys reports whether the signed-in user's provider offers them.
func (s *Server) offersPasskeys(st *state) bool {
	return s.rp != nil && st.User != nil && s.provider(st.User.Provider).MFA.Offers(mfa.MethodWebAuthn)
}

// passkeyUser is u as a ceremony sees them; the handle is made at the
// first registration.
func (s *Server) passkeyUser(ctx context.Context, u store.User, display string) (*mfa.PasskeyUser, []store.Passkey, error) {
	proposed := make([]byte, 32)
	_, _ = rand.Read(proposed)
	h, err := s.mfa.Store.PasskeyHandle(ctx, u, proposed)
	if err != nil {
		return nil, nil, err
	}
	keys, err := s.mfa.Store.Passkeys(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	pu := &mfa.PasskeyUser{Handle: h, Name: u.UserID, DisplayName: display}
	for _, k := range keys {
		pu.Records = append(pu.Records, k.Record)
	}
	return pu, keys, nil
}

type optionsError struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// handlePasskeyOptions begins a ceremony: POST {"csrf": …, "purpose": …}
// → go-webauthn's options ({"publicKey": …}) for navigator.credentials.
func (s *Server) handlePasskeyOptions(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	c.Response().Header().Set("Cache-Control", "no-store")
	var req struct {
		CSRF    string `json:"csrf"`
		Purpose string `json:"purpose"`
	}
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, 4096)).Decode(&req); err != nil {
		return c.JSON(http.StatusBadRequest, optionsError{Error: "bad_request"})
	}
	if s.rp == nil {
		return c.JSON(http.StatusNotFound, optionsError{Error: "passkeys_off"})
	}
	if !validToken(st.CSRF, req.CSRF) {
		s.logger(c).WarnContext(c.Request().Context(), "passkey options with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed)
		return c.JSON(http.StatusForbidden, optionsError{Error: "expired_form", Message: s.translate(c, say(msgExpiredForm))})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), mfaTimeout)
	defer cancel()
	var (
		cer mfa.Ceremony
		err error
	)
	switch req.Purpose {
	case purposeRegister:
		if !s.mayEnrol(st) || !s.offersPasskeys(st) {
			return c.JSON(http.StatusForbidden, optionsError{Error: "not_allowed"})
		}
		pu, _, perr := s.passkeyUser(ctx, mfaUser(st), displayName(*st.User))
		if perr != nil {
			return s.optionsUnavailable(c, perr)
		}
		cer, err = s.rp.BeginRegistration(pu, s.provider(st.User.Provider).MFA.Passwordless)
	case purposeVerify:
		// The second factor, or a signed-in user confirming a removal.
		if !s.offersPasskeys(st) || (st.Owes != owesTOTP && st.Owes != "") {
			return c.JSON(http.StatusForbidden, optionsError{Error: "not_allowed"})
		}
		pu, keys, perr := s.passkeyUser(ctx, mfaUser(st), displayName(*st.User))
		if perr != nil {
			return s.optionsUnavailable(c, perr)
		}
		if len(keys) == 0 {
			return c.JSON(http.StatusConflict, optionsError{Error: "no_passkey", Message: s.translate(c, say(msgPasskeyFailed))})
		}
		cer, err = s.rp.BeginLogin(pu)
	case purposeLogin:
		if !s.passwordless {
			return c.JSON(http.StatusNotFound, optionsError{Error: "passwordless_off"})
		}
		cer, err = s.rp.BeginPasswordless()
	default:
		return c.JSON(http.StatusBadRequest, optionsError{Error: "bad_purpose"})
	}
	if err != nil {
		return err
	}
	st.Passkey = &passkeyCeremony{Purpose: req.Purpose, Session: cer.Session}
	st.touched = true
	s.saveSession(c, sess, st)
	return c.JSONBlob(http.StatusOK, cer.Options)
}

func (s *Server) optionsUnavailable(c echo.Context, err error) error {
	s.logger(c).ErrorContext(c.Request().Context(), "the MFA store could not be asked for passkeys", audit.Key, audit.MFAError, "cause", err.Error())
	return c.JSON(http.StatusServiceUnavailable, optionsError{Error: "unavailable", Message: s.translate(c, say(msgUnavailable))})
}

// translate is m in the request's language, for a script to show.
func (s *Server) translate(c echo.Context, m msg) string {
	v := view{msg: m, tr: s.pages.cat.translator(s.pages.cat.choose(c.Request().Header.Get("Accept-Language")))}
	if err := v.translate(); err != nil {
		return ""
	}
	return v.Message
}

// takeCeremony removes the begun ceremony from the session: each is
// answered at most once, whatever the outcome.
func takeCeremony(st *state, purpose string) (json.RawMessage, bool) {
	p := st.Passkey
	if p != nil {
		st.Passkey, st.touched = nil, true
	}
	if p == nil || p.Purpose != purpose {
		return nil, false
	}
	return p.Session, true
}

// spend records the answer's challenge as used; false means this answer
// (or another to the same challenge) was already accepted.
func (s *Server) spend(ctx context.Context, sp mfa.Spent) (bool, error) {
	exp := sp.Expires
	if exp.IsZero() {
		exp = s.now().Add(mfa.CeremonyTimeout)
	}
	return s.mfa.Store.SpendChallenge(ctx, sp.Challenge, exp, s.now())
}

// passkeyName is the name the user typed, cleaned: control characters
// dropped, at most mfa.MaxPasskeyName characters; empty → "Passkey".
func passkeyName(typed string) string {
	n := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, typed)
	n = strings.TrimSpace(n)
	if r := []rune(n); len(r) > mfa.MaxPasskeyName {
		n = strings.TrimSpace(string(r[:mfa.MaxPasskeyName]))
	}
	if n == "" {
		return "Passkey"
	}
	return n
}

// reserveMFA counts an attempt at the second step for u (and, with ip, for
// the address); wait > 0 means it must not go ahead. An unreachable
// throttle store lets it go uncounted, as for passwords.
func (s *Server) reserveMFA(ctx context.Context, log *slog.Logger, u store.User, ip string) (*reservation, time.Duration) {
	keys := []limitKey{s.mfaUserKey(u)}
	if ip != "" {
		keys = append(keys, limitKey{key: "mfaip:" + ip, limit: s.cfg.Security.IPMaxAttempts})
	}
	wait, res, err := s.throttle.reserve(ctx, s.now(), keys...)
	if err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
		return nil, 0
	}
	if wait > 0 {
		log.WarnContext(ctx, "second factor throttled", audit.Key, audit.MFAThrottled, "provider", u.Provider, "user", u.UserID,
			"retry_after_s", int(math.Ceil(wait.Seconds())))
	}
	return res, wait
}

func retryAfter(c echo.Context, wait time.Duration) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
}

// handlePasskeyRegister adds the passkey the browser just made. As the
// enrolment a required policy asks for, it passes the second factor; a
// user without recovery codes gets them now, once.
func (s *Server) handlePasskeyRegister(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	flowID := posted(c, "flow")
	if !s.mayEnrol(st) || !s.offersPasskeys(st) {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"mfa?"+url.Values{"flow": {flowID}}.Encode())
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mfaTimeout)
	defer cancel()
	fail := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		if st.Owes == owesEnrol {
			return s.renderEnrol(c, ctx, st, flowID, status, m)
		}
		return s.renderSecurity(c, st, status, m)
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(ctx, "passkey registration with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed, "user", u.UserID)
		return fail(http.StatusForbidden, say(msgExpiredForm))
	}
	res, wait := s.reserveMFA(ctx, log, u, "")
	if wait > 0 {
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, throttledMessage(wait))
	}
	session, ok := takeCeremony(st, purposeRegister)
	refused := func(reason string, err error) error {
		args := []any{audit.Key, audit.MFAFailed, "provider", u.Provider, "user", u.UserID, "method", mfa.MethodWebAuthn, "reason", reason}
		if err != nil {
			args = append(args, "cause", err.Error())
		}
		log.InfoContext(ctx, "passkey registration refused", args...)
		return fail(http.StatusBadRequest, say(msgPasskeyFailed))
	}
	if !ok {
		return refused("no_ceremony", nil)
	}
	pu, _, err := s.passkeyUser(ctx, u, displayName(*st.User))
	if err != nil {
		s.releaseMFA(ctx, log, res)
		return s.mfaStoreFailed(c, log, u, err, fail)
	}
	reg, err := s.rp.FinishRegistration(pu, session, []byte(posted(c, "credential")))
	if err != nil {
		return refused("bad_registration", err)
	}
	if fresh, err := s.spend(ctx, reg.Spent); err != nil {
		s.releaseMFA(ctx, log, res)
		return s.mfaStoreFailed(c, log, u, err, fail)
	} else if !fresh {
		return refused("replayed_challenge", nil)
	}
	name := passkeyName(posted(c, "name"))
	if err := s.mfa.Store.AddPasskey(ctx, u, store.Passkey{ID: reg.ID, Name: name, Record: reg.Record, SignCount: reg.SignCount, Created: s.now()}); errors.Is(err, store.ErrExists) {
		log.InfoContext(ctx, "passkey registration refused", audit.Key, audit.MFAFailed, "provider", u.Provider, "user", u.UserID, "method", mfa.MethodWebAuthn, "reason", "already_registered")
		return fail(http.StatusConflict, say(msgPasskeyExists))
	} else if err != nil {
		return s.mfaStoreFailed(c, log, u, err, fail)
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	log.InfoContext(ctx, "passkey registered", audit.Key, audit.MFAEnrolled, "provider", u.Provider, "user", u.UserID, "method", mfa.MethodWebAuthn, "name", name)
	enrolled := st.Owes == owesEnrol // this registration was the factor the sign-in owed
	if enrolled {
		s.passFactor(st, factorWebAuthn)
	}
	var codes []string
	if left, err := s.mfa.Store.RecoveryLeft(ctx, u); err == nil && left == 0 {
		codes = mfa.NewRecoveryCodes()
		hashes := make([]string, len(codes))
		for i, rc := range codes {
			hashes[i] = mfa.HashRecoveryCode(rc)
		}
		if err := s.mfa.Store.ReplaceRecoveryCodes(ctx, u, hashes); err != nil {
			log.ErrorContext(ctx, "could not store recovery codes", audit.Key, audit.MFAError, "provider", u.Provider, "user", u.UserID, "cause", err.Error())
			codes = nil
		}
	}
	s.saveSession(c, sess, st)
	if codes != nil {
		return s.render(c, http.StatusOK, "mfa_recovery", s.mfaView(st, flowID, map[string]any{"Codes": codes}))
	}
	if enrolled {
		return s.continueFlow(c, sess, st, flowID)
	}
	return s.renderSecurity(c, st, http.StatusOK, say(msgPasskeyAdded))
}

func (s *Server) releaseMFA(ctx context.Context, log *slog.Logger, res *reservation) {
	if err := res.release(ctx); err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
}

func (s *Server) mfaStoreFailed(c echo.Context, log *slog.Logger, u store.User, err error, fail func(int, msg) error) error {
	log.ErrorContext(c.Request().Context(), "the MFA store failed", audit.Key, audit.MFAError, "provider", u.Provider, "user", u.UserID, "cause", err.Error())
	return fail(http.StatusServiceUnavailable, say(msgUnavailable))
}

// checkPasskey verifies an answer to a verify ceremony against u's
// passkeys: the signature, the challenge not spent, the counter forward.
// It returns the reason of a refusal (and go-webauthn's word on it), or an
// error when the store failed.
func (s *Server) checkPasskey(ctx context.Context, st *state, u store.User, answer string, passwordless bool) (reason string, cause, err error) {
	purpose := purposeVerify
	if passwordless {
		purpose = purposeLogin
	}
	session, ok := takeCeremony(st, purpose)
	if !ok {
		return "no_ceremony", nil, nil
	}
	a, perr := mfa.ParseAssertion([]byte(answer))
	if perr != nil {
		return "bad_answer", perr, nil
	}
	pu, _, err := s.passkeyUser(ctx, u, u.UserID)
	if err != nil {
		return "", nil, err
	}
	used, verr := s.rp.FinishLogin(pu, session, a, passwordless)
	if verr != nil {
		return "not_verified", verr, nil
	}
	if used.CloneWarning {
		return "counter_went_back", nil, nil
	}
	if fresh, err := s.spend(ctx, used.Spent); err != nil {
		return "", nil, err
	} else if !fresh {
		return "replayed_challenge", nil, nil
	}
	if ok, err := s.mfa.Store.UsePasskey(ctx, u, used.ID, used.Record, used.SignCount, s.now()); err != nil {
		return "", nil, err
	} else if !ok {
		return "counter_went_back", nil, nil
	}
	return "", nil, nil
}

// refusalArgs are the log fields of a refused passkey.
func refusalArgs(reason string, cause error, args ...any) []any {
	args = append(args, "reason", reason)
	if cause != nil {
		args = append(args, "cause", cause.Error())
	}
	return args
}

// handlePasskeyVerify is a passkey as the second factor.
func (s *Server) handlePasskeyVerify(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	flowID := posted(c, "flow")
	if st.User == nil || st.Owes != owesTOTP || !s.offersPasskeys(st) {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"mfa?"+url.Values{"flow": {flowID}}.Encode())
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mfaTimeout)
	defer cancel()
	fail := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		return s.renderSecondStep(c, ctx, st, flowID, status, m)
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(ctx, "passkey form with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed, "user", u.UserID)
		return fail(http.StatusForbidden, say(msgExpiredForm))
	}
	res, wait := s.reserveMFA(ctx, log, u, c.RealIP())
	if wait > 0 {
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, throttledMessage(wait))
	}
	reason, cause, err := s.checkPasskey(ctx, st, u, posted(c, "credential"), false)
	if err != nil {
		s.releaseMFA(ctx, log, res)
		return s.mfaStoreFailed(c, log, u, err, fail)
	}
	if reason != "" {
		log.InfoContext(ctx, "second factor refused", refusalArgs(reason, cause, audit.Key, audit.MFAFailed, "provider", u.Provider, "user", u.UserID, "method", mfa.MethodWebAuthn)...)
		return fail(http.StatusUnauthorized, say(msgPasskeyFailed))
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	s.passFactor(st, factorWebAuthn)
	log.InfoContext(ctx, "second factor passed", audit.Key, audit.MFAVerified, "provider", u.Provider, "user", u.UserID, "method", mfa.MethodWebAuthn)
	return s.continueFlow(c, sess, st, flowID)
}

// handlePasskeyLogin is passwordless sign-in: a discoverable passkey,
// with user verification, in place of username and password. The user's
// identity comes from the provider (current groups; a disabled account
// is refused), the session is rotated as at any login, and the attempt is
// counted for the address and, once the passkey names one, for the user.
func (s *Server) handlePasskeyLogin(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	flowID := posted(c, "flow")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), loginTimeout)
	defer cancel()
	fail := func(status int, m msg) error {
		st.Passkey = nil
		s.saveSession(c, sess, st)
		v := s.loginView(st, s.flowFor(st, flowID).ID, "")
		v.msg, v.Invalid = m, false
		return s.render(c, status, "login", v)
	}
	if !s.passwordless {
		return fail(http.StatusNotFound, say(msgNoProvider))
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(ctx, "passkey sign-in with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed)
		return fail(http.StatusForbidden, say(msgExpiredForm))
	}
	wait, res, err := s.throttle.reserve(ctx, s.now(), limitKey{key: "pkip:" + c.RealIP(), limit: s.cfg.Security.IPMaxAttempts})
	if err != nil {
		log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	} else if wait > 0 {
		log.WarnContext(ctx, "passkey sign-in throttled", audit.Key, audit.LoginThrottled, "method", factorPasskey, "retry_after_s", int(math.Ceil(wait.Seconds())))
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, throttledMessage(wait))
	}
	refused := func(reason string, cause error, u store.User) error {
		log.InfoContext(ctx, "login failed", refusalArgs(reason, cause, audit.Key, audit.LoginFailed, "method", factorPasskey, "provider", u.Provider, "user", u.UserID)...)
		if p := s.provider(u.Provider); p.ID != "" {
			s.metrics.countLogin(p, "bad_credentials")
		}
		return fail(http.StatusUnauthorized, say(msgPasskeyFailed))
	}
	answer := posted(c, "credential")
	a, perr := mfa.ParseAssertion([]byte(answer))
	if perr != nil {
		takeCeremony(st, purposeLogin)
		return refused("bad_answer", perr, store.User{})
	}
	u, err := s.mfa.Store.UserByHandle(ctx, a.UserHandle)
	if errors.Is(err, store.ErrNotFound) {
		takeCeremony(st, purposeLogin)
		return refused("unknown_passkey", nil, store.User{})
	} else if err != nil {
		s.releaseAttempt(ctx, log, res)
		return s.mfaStoreFailed(c, log, store.User{}, err, fail)
	}
	p := s.provider(u.Provider)
	lookup, ok := p.Impl.(providers.IdentityLookup)
	if !ok || !p.MFA.Passwordless || !p.MFA.Offers(mfa.MethodWebAuthn) {
		takeCeremony(st, purposeLogin)
		return refused("passwordless_off", nil, u)
	}
	if res != nil {
		if wait, err := res.add(ctx, s.mfaUserKey(u)); err != nil {
			log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
		} else if wait > 0 {
			log.WarnContext(ctx, "passkey sign-in throttled", audit.Key, audit.LoginThrottled, "method", factorPasskey, "provider", u.Provider, "user", u.UserID)
			s.metrics.observeThrottled(p)
			retryAfter(c, wait)
			return fail(http.StatusTooManyRequests, throttledMessage(wait))
		}
	}
	reason, cause, err := s.checkPasskey(ctx, st, u, answer, true)
	if err != nil {
		s.releaseAttempt(ctx, log, res)
		return s.mfaStoreFailed(c, log, u, err, fail)
	}
	if reason != "" {
		return refused(reason, cause, u)
	}
	start := time.Now()
	id, err := lookup.LookupIdentity(ctx, u.UserID)
	s.metrics.observeLogin(p, err, time.Since(start))
	if err != nil {
		if errors.Is(err, providers.ErrUnavailable) {
			s.releaseAttempt(ctx, log, res)
			log.WarnContext(ctx, "login failed", audit.Key, audit.LoginFailed, "method", factorPasskey, "provider", u.Provider, "user", u.UserID, "reason", "unavailable", "cause", err.Error())
			return fail(http.StatusServiceUnavailable, say(msgUnavailable))
		}
		log.InfoContext(ctx, "login failed", audit.Key, audit.LoginFailed, "method", factorPasskey, "provider", u.Provider, "user", u.UserID, "reason", failureReason(err), "cause", err.Error())
		return fail(http.StatusUnauthorized, say(msgPasskeyFailed))
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "login throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	f, _ := st.takeFlow(flowID)
	return s.completePasskeyLogin(c, sess, st, p, id, f, start)
}

// completePasskeyLogin signs the user in as completeLogin does, with the
// passkey as the factor already passed.
func (s *Server) completePasskeyLogin(c echo.Context, sess *sessions.Session, st *state, p Provider, id providers.Identity, f flow, start time.Time) error {
	id.Provider, id.Directory = p.ID, p.Directory
	st.login(id, s.now())
	st.Factors = []string{factorPasskey}
	s.log.InfoContext(c.Request().Context(), "login succeeded", audit.Key, audit.LoginSucceeded, "provider", p.ID, "user", id.UserID,
		"directory", id.Directory, "method", factorPasskey, "duration_ms", ms(time.Since(start)))
	t, ok := s.targets[f.Target]
	if !ok {
		t = s.deflt
	}
	return s.handoff(c, sess, st, t, f.Entry)
}

// handlePasskeyRemove removes one of the user's passkeys. Like removing
// the authenticator app it needs a fresh proof, a passkey (any of the
// user's) or a current TOTP code, so a session left open on a shared
// computer cannot take a factor away.
func (s *Server) handlePasskeyRemove(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	if st.User == nil || st.Owes != "" || !s.offersPasskeys(st) {
		s.saveSession(c, sess, st)
		return c.Redirect(http.StatusFound, s.base+"mfa")
	}
	u := mfaUser(st)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mfaTimeout)
	defer cancel()
	fail := func(status int, m msg) error {
		s.saveSession(c, sess, st)
		return s.renderSecurity(c, st, status, m)
	}
	if !validToken(st.CSRF, posted(c, "csrf")) {
		log.WarnContext(ctx, "passkey removal with a missing or wrong CSRF token", audit.Key, audit.CSRFFailed, "user", u.UserID)
		return fail(http.StatusForbidden, say(msgExpiredForm))
	}
	id, err := base64.RawURLEncoding.DecodeString(posted(c, "id"))
	if err != nil || len(id) == 0 {
		return fail(http.StatusBadRequest, say(msgPasskeyFailed))
	}
	res, wait := s.reserveMFA(ctx, log, u, "")
	if wait > 0 {
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, throttledMessage(wait))
	}
	var (
		reason string
		cause  error
	)
	if code := posted(c, "code"); code != "" {
		var factor string
		factor, reason, err = s.checkSecondFactor(ctx, u, code, "")
		if factor == "" && reason == "" && err == nil {
			reason = "wrong_code"
		}
	} else {
		reason, cause, err = s.checkPasskey(ctx, st, u, posted(c, "credential"), false)
	}
	if err != nil {
		s.releaseMFA(ctx, log, res)
		return s.mfaStoreFailed(c, log, u, err, fail)
	}
	if reason != "" {
		log.InfoContext(ctx, "second factor refused", refusalArgs(reason, cause, audit.Key, audit.MFAFailed, "provider", u.Provider, "user", u.UserID, "for", "passkey_removal")...)
		return fail(http.StatusUnauthorized, say(msgPasskeyFailed))
	}
	if err := res.succeeded(ctx); err != nil {
		log.ErrorContext(ctx, "second-factor throttling unavailable", audit.Key, audit.ThrottleError, "cause", err.Error())
	}
	removed, err := s.mfa.Store.RemovePasskey(ctx, u, id)
	if err != nil {
		return s.mfaStoreFailed(c, log, u, err, fail)
	}
	if !removed {
		return fail(http.StatusNotFound, say(msgPasskeyFailed))
	}
	log.InfoContext(ctx, "passkey removed by the user", audit.Key, audit.MFAReset, "provider", u.Provider, "user", u.UserID, "method", mfa.MethodWebAuthn, "by", "user")
	return fail(http.StatusOK, say(msgPasskeyRemoved))
}

// passkeyView is what the Security page shows of one passkey.
type passkeyView struct {
	ID, Name, Created, LastUsed string
}

// factorsData is what the second step and the Security page show: which
// factors the user has, and which the policy offers.
func (s *Server) factorsData(ctx context.Context, st *state) (map[string]any, error) {
	p := s.provider(st.User.Provider)
	data := map[string]any{
		"Offered":       p.MFA.Enabled(),
		"Required":      p.MFA.Requires(st.User.Groups),
		"OffersTOTP":    p.MFA.Offers(mfa.MethodTOTP),
		"OffersPasskey": s.offersPasskeys(st),
	}
	if !p.MFA.Enabled() {
		return data, nil
	}
	u := mfaUser(st)
	t, err := s.mfa.Store.TOTP(ctx, u)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	data["Enrolled"] = err == nil && t.Confirmed
	if s.offersPasskeys(st) {
		keys, err := s.mfa.Store.Passkeys(ctx, u)
		if err != nil {
			return nil, err
		}
		var views []passkeyView
		for _, k := range keys {
			v := passkeyView{ID: base64.RawURLEncoding.EncodeToString(k.ID), Name: k.Name, Created: k.Created.UTC().Format(time.DateOnly)}
			if !k.LastUsed.IsZero() {
				v.LastUsed = k.LastUsed.UTC().Format(time.DateOnly)
			}
			views = append(views, v)
		}
		data["Passkeys"] = views
	}
	return data, nil
}

// passkeyScript allows static/webauthn.js on the page being rendered.
func (s *Server) passkeyScript(c echo.Context) {
	c.Response().Header().Set("Content-Security-Policy", passkeyCSP(s.cfg.Server.FrameAncestors))
}

// renderSecondStep shows the second step: a code form for TOTP, a
// passkey button for passkeys, as the user has them.
func (s *Server) renderSecondStep(c echo.Context, ctx context.Context, st *state, flowID string, status int, m msg) error {
	data, err := s.factorsData(ctx, st)
	if err != nil {
		return s.problem(c, http.StatusServiceUnavailable, say(msgUnavailable), s.base+"mfa?"+url.Values{"flow": {flowID}}.Encode())
	}
	if keys, _ := data["Passkeys"].([]passkeyView); len(keys) > 0 {
		data["HasPasskey"] = true
		s.passkeyScript(c)
	}
	v := s.mfaView(st, flowID, data)
	v.msg, v.Invalid = m, status == http.StatusUnauthorized
	return s.render(c, status, "mfa", v)
}

// renderEnrol shows the enrolment page again, with the secret of the
// enrolment in progress (if TOTP is offered) and the passkey button.
func (s *Server) renderEnrol(c echo.Context, ctx context.Context, st *state, flowID string, status int, m msg) error {
	u := mfaUser(st)
	data := map[string]any{"OffersTOTP": s.provider(st.User.Provider).MFA.Offers(mfa.MethodTOTP), "OffersPasskey": s.offersPasskeys(st)}
	if t, err := s.mfa.Store.TOTP(ctx, u); err == nil && !t.Confirmed {
		if secret, err := s.mfa.Sealer.Open(u.Key(), t.Sealed); err == nil {
			data["Secret"], data["Issuer"] = secret, s.issuer(st)
		}
	}
	if s.offersPasskeys(st) {
		s.passkeyScript(c)
	}
	v := s.mfaView(st, flowID, data)
	v.msg, v.Invalid = m, status == http.StatusUnauthorized
	return s.render(c, status, "mfa_enrol", v)
}
