package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/qlikgate/qlikgate/web"
)

// browserPasswordChange: a must-change user, with the keyboard only,
// signs in, lands on the change page with the focus on the current
// password, is refused once (the message is announced and the focus back
// on the form), then changes the password and reaches the hub. axe finds
// nothing serious on the page, before and after the refusal, nor on the
// signed-in user's own change page.
func browserPasswordChange(t *testing.T, b *chromeBrowser) {
	axe := chromeAxe(t)
	ctx := b.tab(t, 1000, 800)
	s := newStack(t, withDirectory(newDirectory(true)), withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }))
	focus := func() string {
		return chromeRun(t, ctx, chromedp.Evaluate[string](`document.activeElement.id + ' ' + getComputedStyle(document.activeElement).outlineStyle`))
	}
	wantFocus := func(step, want string) {
		t.Helper()
		if f := focus(); f != want+" solid" {
			t.Errorf("%s: focus on %q, want %s with a visible outline", step, f, want)
		}
	}
	chromeDo(t, ctx, chromedp.Navigate(s.srv.URL+"/?provider=corp"), chromedp.WaitVisible(chromedp.ID("username")))
	if p := chromeRun(t, ctx, chromedp.Evaluate[string](`document.getElementById('provider').value`)); p != "corp" {
		t.Fatalf("provider preselected: %q, want corp", p)
	}
	wantFocus("login page", "username")
	chromeDo(t, ctx, chromedp.KeyEvent("mike"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("Old-Passw0rd"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("new-password")))
	wantFocus("change page", "current-password")
	chromeCheckAccessibility(t, ctx, axe, "change page")
	chromeShot(t, ctx, "change-page")

	// Tab through the form: current, new, confirm, button; the new
	// password is too short.
	chromeDo(t, ctx, chromedp.KeyEvent("Old-Passw0rd"), chromedp.KeyEvent(kb.Tab))
	wantFocus("after Tab", "new-password")
	chromeDo(t, ctx, chromedp.KeyEvent("Sh0rt!"), chromedp.KeyEvent(kb.Tab))
	wantFocus("after the second Tab", "confirm-password")
	chromeDo(t, ctx, chromedp.KeyEvent("Sh0rt!"), chromedp.KeyEvent(kb.Tab))
	wantFocus("after the third Tab", "submit")
	chromeDo(t, ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("message")))
	if m := chromeText(t, ctx, "message"); m != "The new password is too short." {
		t.Errorf("refusal: %q", m)
	}
	wantFocus("after the refusal", "current-password")
	if d := chromeRun(t, ctx, chromedp.Evaluate[string](`document.activeElement.getAttribute('aria-describedby') || ''`)); d != "message" {
		t.Errorf("the focused field is described by %q, want the message", d)
	}
	chromeCheckAccessibility(t, ctx, axe, "change page refused")
	chromeShot(t, ctx, "change-refused")

	chromeDo(t, ctx, chromedp.KeyEvent("Old-Passw0rd"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("New-Passw0rd"),
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("New-Passw0rd"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `CORP\mike` {
		t.Errorf("hub shows %q, want CORP\\mike", u)
	}

	// Signed in, the same form is on offer from the sign-out page.
	chromeDo(t, ctx, chromedp.Navigate(s.srv.URL+"/logout"), chromedp.WaitVisible(chromedp.ID("change-password")))
	chromeCheckAccessibility(t, ctx, axe, "sign-out page with the change")
	chromeDo(t, ctx, chromedp.Click(chromedp.ID("change-password")), chromedp.WaitVisible(chromedp.ID("new-password")))
	wantFocus("self-service page", "current-password")
	chromeCheckAccessibility(t, ctx, axe, "self-service change page")
	chromeShot(t, ctx, "self-service")
}
