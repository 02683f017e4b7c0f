package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/redistest"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestMFAWithRedisSessions: with session.store: redis the session that
// owes a factor lives in Redis, reaches no hand-off, and passes with an
// oathtool code or a passkey; a passkey answer played again is refused.
func TestMFAWithRedisSessions(t *testing.T) {
	r := redistest.Start(t)
	s := newStack(t, withLocalhost(), withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP, mfa.MethodWebAuthn}}),
		withWeb(func(c *web.Config) { c.Session.Store, c.Session.Redis.URL = "redis", r.URL }))
	b := webtest.NewBrowser()
	enrol := s.signInOwing(t, b, "/mfa/enrol")
	s.assertNoHandoff(t, b)
	enrol = b.MustGet(t, s.srv.URL+"/mfa/enrol") // a new visit starts over
	secret := secretRe.FindStringSubmatch(enrol.Body)[1]
	rec := b.MustPostForm(t, s.srv.URL+"/mfa/enrol", codeForm(t, enrol, "code", totpCode(t, s, secret)))
	if len(recoveryRe.FindAllString(rec.Body, -1)) != 10 {
		t.Fatalf("enrolment with Redis sessions: %d\n%s", rec.Status, rec.Body)
	}
	cont := continueRe.FindStringSubmatch(rec.Body)
	if hub := b.MustGet(t, s.srv.URL+strings.ReplaceAll(cont[1], "&amp;", "&")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("after enrolment: %s", hub.URL)
	}
	// A passkey too, from the Security page.
	key := newSoftKey(t)
	key.counterless = true
	sec := b.MustGet(t, s.srv.URL+"/security")
	opts := s.passkeyOptions(t, b, sec, "register")
	if p := b.MustPostForm(t, s.srv.URL+"/mfa/passkey/register", passkeyForm(t, sec, key.create(t, opts, s.origin), "name", "redis key")); p.Status != http.StatusOK || !strings.Contains(p.Body, "redis key") {
		t.Fatalf("passkey registration with Redis sessions: %d\n%s", p.Status, p.Body)
	}
	b.MustLogout(t, s.srv.URL+"/logout")

	// The code.
	page := s.signInOwing(t, b, "/mfa")
	if !strings.Contains(page.Body, `id="code"`) || !strings.Contains(page.Body, `id="passkey-submit"`) {
		t.Fatalf("a user with both factors is not offered both:\n%s", page.Body)
	}
	s.assertNoHandoff(t, b)
	s.clock.Advance(30 * time.Second)
	if hub := b.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "code", totpCode(t, s, secret))); hub.HubUser() != `CORP\alice` {
		t.Fatalf("the code with Redis sessions: %d %s", hub.Status, hub.URL)
	}
	b.MustLogout(t, s.srv.URL+"/logout")

	// The passkey; the same answer again, with the cookie of the session
	// that owed it, is refused.
	page = s.signInOwing(t, b, "/mfa")
	opts = s.passkeyOptions(t, b, page, "verify")
	owing := s.qlikgateCookie(t, b)
	answer := key.get(t, opts, s.origin, "localhost")
	if hub := b.MustPostForm(t, s.srv.URL+"/mfa/passkey", passkeyForm(t, page, answer)); hub.HubUser() != `CORP\alice` {
		t.Fatalf("the passkey with Redis sessions: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	issued := s.sim.Stats().TicketsIssued
	thief := webtest.NewBrowser()
	thief.Client.Jar.SetCookies(b.MustGet(t, s.srv.URL+"/healthz").URL, owing)
	// Redis dropped the session at the rotation: the copy is signed out.
	if p := thief.MustPostForm(t, s.srv.URL+"/mfa/passkey", passkeyForm(t, page, answer)); p.HubUser() != "" || !p.IsLoginPage() {
		t.Fatalf("a replayed passkey answer with Redis sessions: %d %s", p.Status, p.URL)
	}
	if after := s.sim.Stats().TicketsIssued; after != issued {
		t.Errorf("Qlik issued %d tickets for the replay", after-issued)
	}
}
