package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store/sqlstore"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// withMFA gives the local provider a second-factor policy and a SQLite
// enrolment store of its own.
func withMFA(t testing.TB, p mfa.Policy) option {
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "mfa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sealer, err := mfa.NewSealer(strings.Repeat("m", 40), nil)
	if err != nil {
		t.Fatal(err)
	}
	return func(s *setup) { s.mfa, s.mfaOpts = p, web.MFAOptions{Store: st, Sealer: sealer} }
}

// totpCode is what Debian's oathtool (an independent implementation)
// shows for secret at the stack's clock.
func totpCode(t *testing.T, s *stack, secret string) string {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("QLIKGATE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("oathtool is not installed (apt-get install oathtool) and QLIKGATE_REQUIRE_INTEGRATION is set")
		}
		t.Skip("oathtool is not installed (apt-get install oathtool)")
	}
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", s.clock.Now().UTC().Format("2006-01-02 15:04:05 UTC"), secret).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

var (
	secretRe   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryRe = regexp.MustCompile(`<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})</code></li>`)
	csrfRe     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	flowRe     = regexp.MustCompile(`name="flow" value="([^"]*)"`)
	continueRe = regexp.MustCompile(`id="continue" href="([^"]+)"`)
)

// codeForm is the form of a second-step page with field set to value.
func codeForm(t *testing.T, p webtest.Page, field, value string) url.Values {
	t.Helper()
	csrf, flow := csrfRe.FindStringSubmatch(p.Body), flowRe.FindStringSubmatch(p.Body)
	if csrf == nil || flow == nil {
		t.Fatalf("not a second-step page: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	return url.Values{"csrf": {csrf[1]}, "flow": {flow[1]}, field: {value}}
}

// signIn goes from the hub through the password to the second step.
func (s *stack) signInOwing(t *testing.T, b *webtest.Browser, wantPath string) webtest.Page {
	t.Helper()
	login := s.openHub(t, b, "")
	p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if p.Status != http.StatusOK || p.URL.Path != wantPath {
		t.Fatalf("after the password: %d %s, want %s\n%s", p.Status, p.URL, wantPath, p.Body)
	}
	return p
}

// assertNoHandoff calls every route that hands off, directly, and checks
// that none gives the session anything from Qlik.
func (s *stack) assertNoHandoff(t *testing.T, b *webtest.Browser) {
	t.Helper()
	before := s.sim.Stats()
	for _, path := range []string{"/", "/t/sense/", "/t/session/", "/mfa/continue", "/security"} {
		p := b.MustGet(t, s.srv.URL+path)
		if !strings.HasPrefix(p.URL.Path, "/mfa") || p.HubUser() != "" {
			t.Errorf("GET %s with a factor owed ended at %d %s, want the second step", path, p.Status, p.URL)
		}
	}
	// The mashup ticket endpoint: not signed in until the factor passed.
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/t/sense/ticket", nil)
	req.Header.Set("X-Qlikgate-Request", "1")
	req.Header.Set("Origin", s.origin)
	if p, err := b.Do(req); err != nil || p.Status != http.StatusUnauthorized || strings.Contains(p.Body, `"ticket"`) {
		t.Errorf("POST /t/sense/ticket with a factor owed: %d %q (%v), want 401", p.Status, p.Body, err)
	}
	// Qlik's own redirect (single sign-on) too.
	if p := b.MustGet(t, s.sim.HubURL()); p.HubUser() != "" || !strings.HasPrefix(p.URL.Path, "/mfa") {
		t.Errorf("single sign-on with a factor owed reached %s (user %q)", p.URL, p.HubUser())
	}
	if after := s.sim.Stats(); after.TicketsIssued != before.TicketsIssued || after.SessionsCreated != before.SessionsCreated {
		t.Errorf("Qlik was asked for a ticket or session for a session that owes a factor: %+v → %+v", before, after)
	}
}

func TestTOTPRequiredEndToEnd(t *testing.T) {
	s := newStack(t, withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP}, IssuerName: "Analytics"}))
	b := webtest.NewBrowser()

	// Password → enrolment, before any hand-off.
	enrol := s.signInOwing(t, b, "/mfa/enrol")
	m := secretRe.FindStringSubmatch(enrol.Body)
	if m == nil {
		t.Fatalf("the enrolment page shows no #totp-secret:\n%s", enrol.Body)
	}
	secret := m[1]
	if !strings.Contains(enrol.Body, `<img id="totp-qr" src="/mfa/totp.png"`) || strings.Contains(enrol.Body, "<script") {
		t.Errorf("the enrolment page lacks its own QR image, or has a script:\n%s", enrol.Body)
	}
	if img := b.MustGet(t, s.srv.URL+"/mfa/totp.png"); img.Status != http.StatusOK || img.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(img.Body, "\x89PNG") {
		t.Errorf("QR code: %d %s", img.Status, img.Header.Get("Content-Type"))
	}
	s.assertNoHandoff(t, b)
	enrol = b.MustGet(t, s.srv.URL+"/mfa/enrol")
	if m := secretRe.FindStringSubmatch(enrol.Body); m != nil {
		secret = m[1] // a new visit starts over with a new secret
	}

	// A wrong code does not count; the right one, from oathtool, does.
	wrong := b.MustPostForm(t, s.srv.URL+"/mfa/enrol", codeForm(t, enrol, "code", "000000"))
	if totpCode(t, s, secret) != "000000" && wrong.Status != http.StatusUnauthorized {
		t.Fatalf("a wrong enrolment code: %d, want 401", wrong.Status)
	}
	enrolCode := totpCode(t, s, secret)
	rec := b.MustPostForm(t, s.srv.URL+"/mfa/enrol", codeForm(t, wrong, "code", enrolCode))
	codes := recoveryRe.FindAllStringSubmatch(rec.Body, -1)
	if rec.Status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("after confirming: %d, %d recovery codes, want 10\n%s", rec.Status, len(codes), rec.Body)
	}
	cont := continueRe.FindStringSubmatch(rec.Body)
	if cont == nil {
		t.Fatalf("no #continue on the recovery page:\n%s", rec.Body)
	}
	hub := b.MustGet(t, s.srv.URL+strings.ReplaceAll(cont[1], "&amp;", "&"))
	if hub.HubUser() != `CORP\alice` {
		t.Fatalf("after enrolment: %d %s, want the hub as CORP\\alice\n%s", hub.Status, hub.URL, hub.Body)
	}
	b.MustLogout(t, s.srv.URL+"/logout")

	// Next time: password → code → Qlik. The code used at enrolment is
	// refused (replay), and while the code is owed nothing is handed off.
	page := s.signInOwing(t, b, "/mfa")
	ownedCookie := s.qlikgateCookie(t, b)
	s.assertNoHandoff(t, b)
	replay := b.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "code", enrolCode))
	if replay.Status != http.StatusUnauthorized {
		t.Fatalf("the enrolment code again in its window: %d, want 401", replay.Status)
	}
	s.clock.Advance(30 * time.Second)
	code := totpCode(t, s, secret)
	hub = b.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, replay, "code", code))
	if hub.HubUser() != `CORP\alice` {
		t.Fatalf("after the code: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	// The session was rotated: the cookie from before the code still owes it.
	b2 := webtest.NewBrowser()
	u, _ := url.Parse(s.srv.URL)
	b2.Client.Jar.SetCookies(u, ownedCookie)
	s.assertNoHandoff(t, b2)
	if after := s.qlikgateCookie(t, b); after[0].Value == ownedCookie[0].Value {
		t.Error("the session cookie did not change after the second factor")
	}
	// Single sign-on unchanged once the factor is passed: a browser with
	// only the qlikgate cookie (no Qlik session) goes straight through.
	sso := webtest.NewBrowser()
	sso.Client.Jar.SetCookies(u, s.qlikgateCookie(t, b))
	before := s.sim.Stats().TicketsIssued
	if sso := sso.MustGet(t, s.sim.HubURL()+"stream/1"); sso.HubUser() != `CORP\alice` || s.sim.Stats().TicketsIssued != before+1 {
		t.Fatalf("single sign-on after the second factor: %s %q", sso.URL, sso.HubUser())
	}

	// The same code in another browser, same window: refused.
	b3 := webtest.NewBrowser()
	page = s.signInOwing(t, b3, "/mfa")
	if p := b3.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "code", code)); p.Status != http.StatusUnauthorized {
		t.Fatalf("a replayed code: %d, want 401", p.Status)
	}
	if !strings.Contains(s.logs.String(), "reason=replayed_code") {
		t.Error("the replay is not in the audit log")
	}
	// A recovery code works once.
	hub = b3.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "recovery_code", strings.ToLower(codes[0][1])))
	if hub.HubUser() != `CORP\alice` {
		t.Fatalf("with a recovery code: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	b4 := webtest.NewBrowser()
	page = s.signInOwing(t, b4, "/mfa")
	if p := b4.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "recovery_code", codes[0][1])); p.Status != http.StatusUnauthorized {
		t.Fatalf("a recovery code used twice: %d, want 401", p.Status)
	}

	logs := s.logs.String()
	for _, secretText := range []string{secret, code, enrolCode, codes[0][1], codes[1][1]} {
		if strings.Contains(logs, secretText) {
			t.Errorf("the log contains %q (a TOTP secret, code or recovery code)", secretText)
		}
	}
	for _, ev := range []string{"event=mfa_enrolled", "event=mfa_verified", "event=mfa_failed"} {
		if !strings.Contains(logs, ev) {
			t.Errorf("the log lacks %s", ev)
		}
	}
}

// TestTOTPThrottledSeparately: wrong codes lock the second step, not the
// password step.
func TestTOTPThrottledSeparately(t *testing.T) {
	s := newStack(t, withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP}}))
	b := webtest.NewBrowser()
	enrol := s.signInOwing(t, b, "/mfa/enrol")
	secret := secretRe.FindStringSubmatch(enrol.Body)[1]
	rec := b.MustPostForm(t, s.srv.URL+"/mfa/enrol", codeForm(t, enrol, "code", totpCode(t, s, secret)))
	if rec.Status != http.StatusOK {
		t.Fatalf("enrolment: %d", rec.Status)
	}
	b.MustLogout(t, s.srv.URL+"/logout")
	page := s.signInOwing(t, b, "/mfa")
	var last webtest.Page
	for range 8 {
		last = b.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "code", "12345x"))
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("wrong codes were never throttled: %d", last.Status)
	}
	// The right code is refused while the second step is locked…
	s.clock.Advance(30 * time.Second)
	if p := b.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "code", totpCode(t, s, secret))); p.Status != http.StatusTooManyRequests {
		t.Fatalf("the right code during the lock: %d, want 429", p.Status)
	}
	// …but the password step (and the directory account) is not locked.
	s.signInOwing(t, webtest.NewBrowser(), "/mfa")
}

// TestTOTPOptional: no second step until the user enrols on the Security
// page; then a code is asked; removal needs a code.
func TestTOTPOptional(t *testing.T) {
	s := newStack(t, withMFA(t, mfa.Policy{Mode: mfa.ModeOptional, Methods: []string{mfa.MethodTOTP}}))
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	if hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("optional and not enrolled: %s", hub.URL)
	}
	sec := b.MustGet(t, s.srv.URL+"/security")
	if !strings.Contains(sec.Body, `id="enrol"`) {
		t.Fatalf("the Security page offers no enrolment:\n%s", sec.Body)
	}
	enrol := b.MustGet(t, s.srv.URL+"/mfa/enrol")
	secret := secretRe.FindStringSubmatch(enrol.Body)[1]
	if rec := b.MustPostForm(t, s.srv.URL+"/mfa/enrol", codeForm(t, enrol, "code", totpCode(t, s, secret))); len(recoveryRe.FindAllString(rec.Body, -1)) != 10 {
		t.Fatalf("enrolment from the Security page: %d\n%s", rec.Status, rec.Body)
	}
	sec = b.MustGet(t, s.srv.URL+"/security")
	if !strings.Contains(sec.Body, `id="remove"`) {
		t.Fatalf("the Security page offers no removal:\n%s", sec.Body)
	}
	form := url.Values{"csrf": {csrfRe.FindStringSubmatch(sec.Body)[1]}, "code": {"999999"}}
	if p := b.MustPostForm(t, s.srv.URL+"/security/totp/remove", form); p.Status != http.StatusUnauthorized {
		t.Fatalf("removal with a wrong code: %d, want 401", p.Status)
	}
	b.MustLogout(t, s.srv.URL+"/logout")
	page := s.signInOwing(t, b, "/mfa")
	s.clock.Advance(30 * time.Second)
	if hub := b.MustPostForm(t, s.srv.URL+"/mfa", codeForm(t, page, "code", totpCode(t, s, secret))); hub.HubUser() != `CORP\alice` {
		t.Fatalf("optional and enrolled: %s", hub.URL)
	}
	s.clock.Advance(30 * time.Second)
	sec = b.MustGet(t, s.srv.URL+"/security")
	form = url.Values{"csrf": {csrfRe.FindStringSubmatch(sec.Body)[1]}, "code": {totpCode(t, s, secret)}}
	if p := b.MustPostForm(t, s.srv.URL+"/security/totp/remove", form); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="enrol"`) {
		t.Fatalf("removal with the right code: %d\n%s", p.Status, p.Body)
	}
	b.MustLogout(t, s.srv.URL+"/logout")
	login = s.openHub(t, b, "")
	if hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("after removal, optional: %s", hub.URL)
	}
}
