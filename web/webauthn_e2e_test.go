package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// withLocalhost makes public_url http://localhost:PORT/: browsers offer
// passkeys on http only there, and never for an IP address. Requests may
// still go to 127.0.0.1.
func withLocalhost() option {
	return withWeb(func(c *web.Config) {
		c.Server.PublicURL = strings.Replace(c.Server.PublicURL, "://127.0.0.1:", "://localhost:", 1)
	})
}

// publicOrigin is the origin passkeys are made for (public_url's).
func (s *stack) publicOrigin() string { return s.origin }

// passkeyOptions begins a ceremony from page (whose CSRF token it sends).
func (s *stack) passkeyOptions(t *testing.T, b *webtest.Browser, page webtest.Page, purpose string) string {
	t.Helper()
	csrf := csrfRe.FindStringSubmatch(page.Body)
	if csrf == nil {
		t.Fatalf("no CSRF token on %s:\n%s", page.URL, page.Body)
	}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/mfa/passkey/options", strings.NewReader(`{"csrf":"`+csrf[1]+`","purpose":"`+purpose+`"}`))
	req.Header.Set("Content-Type", "application/json")
	p, err := b.Do(req)
	if err != nil || p.Status != http.StatusOK {
		t.Fatalf("options for %s: %d %v\n%s", purpose, p.Status, err, p.Body)
	}
	return p.Body
}

// passkeyForm is the form posted with a passkey answer.
func passkeyForm(t *testing.T, page webtest.Page, answer string, extra ...string) url.Values {
	t.Helper()
	csrf := csrfRe.FindStringSubmatch(page.Body)
	if csrf == nil {
		t.Fatalf("no CSRF token on %s", page.URL)
	}
	f := url.Values{"csrf": {csrf[1]}, "credential": {answer}}
	if m := flowRe.FindStringSubmatch(page.Body); m != nil {
		f.Set("flow", m[1])
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func passkeyPolicy() mfa.Policy {
	return mfa.Policy{Mode: mfa.ModeOptional, Methods: []string{mfa.MethodTOTP, mfa.MethodWebAuthn}, Passwordless: true}
}

// TestPasskeyOverHTTP drives every passkey route from outside with a
// software authenticator: registration, the second factor (a session
// owing it reaches no hand-off), a replayed answer with a copied session
// cookie, answers made for another origin or relying party, cross-site
// posts, passwordless sign-in, removal, and the passkey refused after it.
func TestPasskeyOverHTTP(t *testing.T) {
	s := newStack(t, withLocalhost(), withMFA(t, passkeyPolicy()))
	origin := s.publicOrigin()
	key := newSoftKey(t)
	// Like a synced passkey it keeps no signature counter: only the
	// spent challenge stops a replay.
	key.counterless = true
	b := webtest.NewBrowser()

	// Optional and not enrolled: straight to Qlik; then register.
	login := s.openHub(t, b, "")
	if hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("optional, not enrolled: %s", hub.URL)
	}
	sec := b.MustGet(t, s.srv.URL+"/security")
	if !strings.Contains(sec.Body, `id="passkey-add"`) || !strings.Contains(sec.Header.Get("Content-Security-Policy"), "script-src 'self'; connect-src 'self'") {
		t.Fatalf("the Security page offers no passkey, or its policy allows no script: %q\n%s", sec.Header.Get("Content-Security-Policy"), sec.Body)
	}
	// Made for another origin (a phishing page): refused.
	opts := s.passkeyOptions(t, b, sec, "register")
	if p := b.MustPostForm(t, s.srv.URL+"/mfa/passkey/register", passkeyForm(t, sec, newSoftKey(t).create(t, opts, "http://evil.example"), "name", "phished")); p.Status != http.StatusBadRequest {
		t.Fatalf("a registration made for another origin: %d, want 400", p.Status)
	}
	opts = s.passkeyOptions(t, b, sec, "register")
	rec := b.MustPostForm(t, s.srv.URL+"/mfa/passkey/register", passkeyForm(t, sec, key.create(t, opts, origin), "name", "Soft key\x07 of alice"))
	codes := recoveryRe.FindAllStringSubmatch(rec.Body, -1)
	if rec.Status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("registration: %d, %d recovery codes, want 10\n%s", rec.Status, len(codes), rec.Body)
	}
	sec = b.MustGet(t, s.srv.URL+"/security")
	if !strings.Contains(sec.Body, ">Soft key of alice</strong>") || !strings.Contains(sec.Body, `id="remove-passkey-`+b64u.EncodeToString(key.id)+`"`) {
		t.Fatalf("the Security page does not list the passkey by its (cleaned) name:\n%s", sec.Body)
	}
	b.MustLogout(t, s.srv.URL+"/logout")

	// Password → the passkey is owed; nothing is handed off meanwhile.
	page := s.signInOwing(t, b, "/mfa")
	if !strings.Contains(page.Body, `id="passkey-submit"`) || strings.Contains(page.Body, `id="code"`) {
		t.Fatalf("the second step of a passkey-only user:\n%s", page.Body)
	}
	s.assertNoHandoff(t, b)
	// Signed for another origin, then for another relying party: refused.
	for _, bad := range []struct{ origin, rpID string }{{"http://evil.example", "localhost"}, {origin, "evil.example"}} {
		opts = s.passkeyOptions(t, b, page, "verify")
		if p := b.MustPostForm(t, s.srv.URL+"/mfa/passkey", passkeyForm(t, page, key.get(t, opts, bad.origin, bad.rpID))); p.Status != http.StatusUnauthorized || p.HubUser() != "" {
			t.Fatalf("an answer for origin %s, RP %s: %d %s, want 401", bad.origin, bad.rpID, p.Status, p.URL)
		}
	}
	opts = s.passkeyOptions(t, b, page, "verify")
	owing := s.qlikgateCookie(t, b) // the session with the ceremony in it
	answer := key.get(t, opts, origin, "localhost")
	hub := b.MustPostForm(t, s.srv.URL+"/mfa/passkey", passkeyForm(t, page, answer))
	if hub.HubUser() != `CORP\alice` {
		t.Fatalf("the passkey as second factor: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	if after := s.qlikgateCookie(t, b); after[0].Value == owing[0].Value {
		t.Error("the session cookie did not change after the second factor")
	}
	// The copied cookie and the recorded answer, played again: the
	// challenge was spent.
	thief := webtest.NewBrowser()
	u, _ := url.Parse(s.srv.URL)
	thief.Client.Jar.SetCookies(u, owing)
	if p := thief.MustPostForm(t, s.srv.URL+"/mfa/passkey", passkeyForm(t, page, answer)); p.Status != http.StatusUnauthorized || p.HubUser() != "" {
		t.Fatalf("a replayed passkey answer: %d %s, want 401", p.Status, p.URL)
	}
	s.assertNoHandoff(t, thief)
	if !strings.Contains(s.logs.String(), "reason=replayed_challenge") {
		t.Error("the replay is not in the audit log as replayed_challenge")
	}

	// Passwordless: the login page offers it; the passkey alone signs in.
	pl := webtest.NewBrowser()
	login = s.openHub(t, pl, "stream/7")
	if !strings.Contains(login.Body, `id="passkey-login"`) || !strings.Contains(login.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("the login page offers no passkey sign-in:\n%s", login.Body)
	}
	opts = s.passkeyOptions(t, pl, login, "login")
	if p := pl.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, key.get(t, opts, "http://evil.example", "localhost"))); p.Status != http.StatusUnauthorized || p.HubUser() != "" {
		t.Fatalf("a passwordless answer for another origin: %d %s, want 401", p.Status, p.URL)
	}
	before := s.qlikgateCookie(t, pl)
	opts = s.passkeyOptions(t, pl, login, "login")
	hub = pl.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, key.get(t, opts, origin, "localhost")))
	if hub.HubUser() != `CORP\alice` || !strings.HasSuffix(hub.URL.Path, "/hub/stream/7") {
		t.Fatalf("passwordless: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	if s.qlikgateCookie(t, pl)[0].Value == before[0].Value {
		t.Error("the session was not rotated at the passwordless sign-in")
	}
	// Cross-site posts to the passkey routes are refused by the Origin check.
	for _, path := range []string{"/login/passkey", "/mfa/passkey", "/mfa/passkey/register", "/security/passkey/remove", "/mfa/passkey/options"} {
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader("csrf=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		if p, err := pl.Do(req); err != nil || p.Status != http.StatusForbidden {
			t.Errorf("POST %s from another site: %d %v, want 403", path, p.Status, err)
		}
	}

	// Removal, confirmed with the passkey; then it signs in no more.
	sec = b.MustGet(t, s.srv.URL+"/security")
	opts = s.passkeyOptions(t, b, sec, "verify")
	rm := b.MustPostForm(t, s.srv.URL+"/security/passkey/remove", passkeyForm(t, sec, key.get(t, opts, origin, "localhost"), "id", b64u.EncodeToString(key.id)))
	if rm.Status != http.StatusOK || strings.Contains(rm.Body, "remove-passkey-") || !strings.Contains(rm.Body, `id="no-passkeys"`) {
		t.Fatalf("removal: %d\n%s", rm.Status, rm.Body)
	}
	gone := webtest.NewBrowser()
	login = s.openHub(t, gone, "")
	opts = s.passkeyOptions(t, gone, login, "login")
	if p := gone.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, key.get(t, opts, origin, "localhost"))); p.Status != http.StatusUnauthorized || p.HubUser() != "" {
		t.Fatalf("a removed passkey: %d %s, want 401", p.Status, p.URL)
	}
	// And the password alone is enough again (optional, nothing enrolled).
	if hub := gone.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("after removing the only passkey: %s", hub.URL)
	}

	logs := s.logs.String()
	for _, ev := range []string{"event=mfa_enrolled", "event=mfa_verified", "event=mfa_failed", "method=passkey", "event=mfa_reset"} {
		if !strings.Contains(logs, ev) {
			t.Errorf("the log lacks %s", ev)
		}
	}
	for _, secret := range []string{codes[0][1], answer[strings.Index(answer, `"signature":"`)+13:][:40], owing[0].Value} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

// TestPasskeyThrottled: wrong passwordless answers for one user are
// counted for that user's second step (and the address), and answered
// with 429 like wrong codes.
func TestPasskeyThrottled(t *testing.T) {
	s := newStack(t, withLocalhost(), withMFA(t, passkeyPolicy()))
	origin := s.publicOrigin()
	key := newSoftKey(t)
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	sec := b.MustGet(t, s.srv.URL+"/security")
	opts := s.passkeyOptions(t, b, sec, "register")
	if rec := b.MustPostForm(t, s.srv.URL+"/mfa/passkey/register", passkeyForm(t, sec, key.create(t, opts, origin))); rec.Status != http.StatusOK {
		t.Fatalf("registration: %d", rec.Status)
	}
	att := webtest.NewBrowser()
	login = s.openHub(t, att, "")
	var last webtest.Page
	for range 10 {
		opts = s.passkeyOptions(t, att, login, "login")
		last = att.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, key.get(t, opts, origin, "wrong.example")))
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("wrong passkey answers were never throttled: %d", last.Status)
	}
	opts = s.passkeyOptions(t, att, login, "login")
	if p := att.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, key.get(t, opts, origin, "localhost"))); p.Status != http.StatusTooManyRequests {
		t.Fatalf("the right passkey during the lock: %d, want 429", p.Status)
	}
	// Another user's sign-in is not locked by it.
	other := webtest.NewBrowser()
	l := s.openHub(t, other, "")
	if hub := other.MustPostForm(t, s.srv.URL+"/login", l.MustLoginForm(t, "bob", "bobpw")); hub.HubUser() != `CORP\bob` {
		t.Fatalf("another user's password during the lock: %s", hub.URL)
	}
}
