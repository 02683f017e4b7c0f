package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/qlikgate/qlikgate/mfa"
)

// TestBrowserMFA: in Chromium, keyboard only and under a path prefix, a
// user signs in, enrols (the QR code is drawn and no script runs), saves
// the recovery codes, reaches Qlik, and next time passes with a code;
// axe-core checks each second-factor page.
func TestBrowserMFA(t *testing.T) {
	b := startChromium(t)
	axe := chromeAxe(t)
	const prefix = "/qlik/auth/"
	s := newStack(t, withPrefix(prefix), withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP}}))
	s.sim.SetModuleURL(s.srv.URL + prefix)
	ctx := b.tab(t, 1000, 800)
	focused := func() string {
		return chromeRun(t, ctx, chromedp.Evaluate[string](`document.activeElement.id + ' ' + getComputedStyle(document.activeElement).outlineStyle`))
	}
	login := func() {
		chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.KeyEvent("alice"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("alicepw"), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.ID("code")))
	}
	login()
	if w := chromeWait(t, ctx, `(() => { const i = document.getElementById('totp-qr'); return i.complete ? String(i.naturalWidth) : '' })()`); w != "240" {
		t.Errorf("the QR code image is %s px wide, want 240 (drawn by qlikgate)", w)
	}
	if f := focused(); f != "code solid" {
		t.Errorf("focus on the enrolment page: %q, want the code field with a visible outline", f)
	}
	chromeCheckAccessibility(t, ctx, axe, "enrolment")
	chromeShot(t, ctx, "mfa-enrol")
	secret := chromeText(t, ctx, "totp-secret")
	chromeDo(t, ctx, chromedp.KeyEvent(totpCode(t, s, secret)), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("recovery-codes")))
	chromeCheckAccessibility(t, ctx, axe, "recovery codes")
	chromeShot(t, ctx, "mfa-recovery")
	// Keyboard to the continue link: it is the only focusable thing after
	// the codes besides the layout's links.
	chromeDo(t, ctx, chromedp.Focus(chromedp.ID("continue")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `CORP\alice` {
		t.Fatalf("hub shows %q", u)
	}

	chromeDo(t, ctx, chromedp.Navigate(s.srv.URL+prefix+"security"), chromedp.WaitVisible(chromedp.ID("status")))
	chromeCheckAccessibility(t, ctx, axe, "security")
	chromeDo(t, ctx, chromedp.Navigate(s.srv.URL+prefix+"logout"), chromedp.WaitVisible(chromedp.ID("logout")), chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("message")))

	login()
	if f := focused(); f != "code solid" {
		t.Errorf("focus on the code page: %q", f)
	}
	chromeCheckAccessibility(t, ctx, axe, "code")
	chromeShot(t, ctx, "mfa-code")
	s.clock.Advance(mfa.Period * 1e9)
	chromeDo(t, ctx, chromedp.KeyEvent(totpCode(t, s, secret)), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `CORP\alice` {
		t.Fatalf("hub shows %q after the code", u)
	}
}
