package web_test

import (
	"strings"
	"testing"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/qlikgate/qlikgate/mfa"
)

// TestBrowserPasskeys: in Chromium with the DevTools virtual authenticator,
// keyboard only and under a path prefix, a user whose policy requires a
// second factor registers a passkey at enrolment, reaches Qlik, next time
// passes the second step with it, then signs in with the passkey alone
// (passwordless), removes it on the Security page, and is refused with it
// afterwards. axe-core checks each passkey page; the pages run only
// qlikgate's own script (the CSP has no 'unsafe-inline').
func TestBrowserPasskeys(t *testing.T) {
	b := startChromium(t)
	axe := chromeAxe(t)
	const prefix = "/qlik/auth/"
	s := newStack(t, withPrefix(prefix), withLocalhost(), withMFA(t, mfa.Policy{
		Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP, mfa.MethodWebAuthn}, Passwordless: true}))
	base := s.origin + prefix
	s.sim.SetModuleURL(base)
	ctx := b.tab(t, 1000, 900)
	// The authenticator belongs to the tab: added before the first page.
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	va, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
			Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true,
			// A plain bool without omitempty: unset, Go sends false and
			// navigator.credentials waits for a touch for ever.
			AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	focused := func() string {
		return chromeRun(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	}
	tabTo := func(id string, max int) {
		t.Helper()
		for range max {
			if focused() == id {
				return
			}
			chromeDo(t, ctx, chromedp.KeyEvent(kb.Tab))
		}
		if f := focused(); f != id {
			t.Fatalf("Tab never reached #%s (focus on #%s)", id, f)
		}
	}
	password := func() {
		t.Helper()
		chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.KeyEvent("alice"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("alicepw"), chromedp.KeyEvent(kb.Enter))
	}
	logout := func() {
		t.Helper()
		chromeDo(t, ctx, chromedp.Navigate(base+"logout"), chromedp.WaitVisible(chromedp.ID("logout")), chromedp.Click(chromedp.ID("logout")),
			chromedp.WaitVisible(chromedp.ID("message")))
	}
	hubUser := func(when string) {
		t.Helper()
		chromeDo(t, ctx, chromedp.WaitVisible(chromedp.ID("user")))
		if u := chromeText(t, ctx, "user"); u != `CORP\alice` {
			t.Fatalf("%s: the hub shows %q", when, u)
		}
	}

	// Enrolment: the passkey section is there (the script ran), reachable
	// by Tab; Enter in the name field registers the passkey.
	password()
	chromeDo(t, ctx, chromedp.WaitVisible(chromedp.ID("passkey-add")))
	chromeCheckAccessibility(t, ctx, axe, "enrolment with passkeys")
	chromeShot(t, ctx, "passkey-enrol")
	tabTo("passkey-name", 4)
	chromeDo(t, ctx, chromedp.KeyEvent("Virtual key"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("recovery-codes")))
	chromeDo(t, ctx, chromedp.Focus(chromedp.ID("continue")), chromedp.KeyEvent(kb.Enter))
	hubUser("after registering a passkey")
	creds, err := chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams(va))
	if err != nil || len(creds.Credentials) != 1 || creds.Credentials[0].RpID != "localhost" || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v (%v), want one discoverable passkey for localhost", creds, err)
	}
	logout()

	// The second step: only a passkey (no app), its button focused.
	password()
	chromeDo(t, ctx, chromedp.WaitVisible(chromedp.ID("passkey-submit")))
	if f := focused(); f != "passkey-submit" {
		t.Errorf("focus on the passkey step: #%s, want #passkey-submit", f)
	}
	chromeCheckAccessibility(t, ctx, axe, "passkey second factor")
	chromeShot(t, ctx, "passkey-second-factor")
	chromeDo(t, ctx, chromedp.KeyEvent(kb.Enter))
	hubUser("after the passkey as second factor")
	logout()

	// Passwordless: from the login page, Tab to the passkey button.
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromedp.WaitVisible(chromedp.ID("passkey-login")))
	chromeCheckAccessibility(t, ctx, axe, "login with passkey")
	chromeShot(t, ctx, "passkey-login")
	tabTo("passkey-login", 6)
	chromeDo(t, ctx, chromedp.KeyEvent(kb.Enter))
	hubUser("after passwordless sign-in")

	// The Security page lists it; removal asks the passkey once more.
	chromeDo(t, ctx, chromedp.Navigate(base+"security"), chromedp.WaitVisible(chromedp.ID("passkeys")))
	if names := chromeText(t, ctx, "passkeys"); !strings.Contains(names, "Virtual key") {
		t.Fatalf("the Security page lists %q", names)
	}
	chromeCheckAccessibility(t, ctx, axe, "security with passkeys")
	chromeShot(t, ctx, "passkey-security")
	chromeDo(t, ctx, chromedp.Focus(`#passkeys button`), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("no-passkeys")))
	if m := chromeText(t, ctx, "message"); m == "" {
		t.Error("no message after the removal")
	}
	logout()

	// The authenticator still has it, but qlikgate refuses it now.
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromedp.WaitVisible(chromedp.ID("passkey-login")))
	tabTo("passkey-login", 6)
	chromeDo(t, ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("message")))
	if loc := chromeRun(t, ctx, chromedp.Location()); !strings.HasPrefix(loc, base+"login/passkey") {
		t.Errorf("a removed passkey ended at %s", loc)
	}
	if st := s.sim.Stats(); st.TicketsIssued != 3 {
		t.Errorf("Qlik issued %d tickets, want 3 (enrolment, second factor, passwordless)", st.TicketsIssued)
	}
}
