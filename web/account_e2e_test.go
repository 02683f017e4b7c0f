package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// accountForm fills the self-service change form of page p.
func accountForm(t *testing.T, p webtest.Page, current, next, confirm string) url.Values {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil || !strings.Contains(p.Body, `id="new-password"`) || !strings.Contains(p.Body, `action="/account/password"`) {
		t.Fatalf("not the self-service change page: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	return url.Values{"csrf": {m[1]}, "current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}
}

// selfServiceDirectory is newDirectory with nick, whose password is fine.
func selfServiceDirectory() *changingDirectory {
	d := newDirectory(true)
	d.users["nick"] = &dirUser{password: "Old-Passw0rd"}
	return d
}

// TestAccountPasswordChange: a signed-in user finds the change on the
// sign-out page, changes the password there (refusals first, each with
// its message), stays signed in, and the new password is the one that
// works; every attempt is audited without a password.
func TestAccountPasswordChange(t *testing.T) {
	d := selfServiceDirectory()
	s := newStack(t, withDirectory(d), withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }))
	b := webtest.NewBrowser()
	if hub := s.loginAs(t, b, "nick", "Old-Passw0rd"); hub.HubUser() != `CORP\nick` {
		t.Fatalf("sign-in: %d %q", hub.Status, hub.Message())
	}
	if p := b.MustGet(t, s.srv.URL+"/logout"); !strings.Contains(p.Body, `id="change-password" class="button secondary" href="/account/password"`) {
		t.Fatalf("the sign-out page does not offer the change:\n%s", p.Body)
	}
	page := b.MustGet(t, s.srv.URL+"/account/password")
	for _, st := range []struct {
		name                  string
		current, next, repeat string
		status                int
		message               string
	}{
		{"confirmation differs", "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd!", http.StatusBadRequest, "The two new passwords are not the same."},
		{"wrong current password", "Wrong-Passw0rd", "New-Passw0rd", "New-Passw0rd", http.StatusUnauthorized, "The current password is incorrect."},
		{"too short", "Old-Passw0rd", "Sh0rt!", "Sh0rt!", http.StatusBadRequest, "The new password is too short."},
		{"changed", "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd", http.StatusOK, "Your password has been changed."},
	} {
		page = b.MustPostForm(t, s.srv.URL+"/account/password", accountForm(t, page, st.current, st.next, st.repeat))
		if page.Status != st.status || page.Message() != st.message {
			t.Fatalf("%s: %d %q, want %d %q", st.name, page.Status, page.Message(), st.status, st.message)
		}
	}
	// Still signed in: the hub passes straight through.
	if hub := b.MustGet(t, s.sim.HubURL()); hub.HubUser() != `CORP\nick` {
		t.Errorf("after the change the hub shows %q, want CORP\\nick still signed in", hub.HubUser())
	}
	if p := s.loginAs(t, webtest.NewBrowser(), "nick", "New-Passw0rd"); p.HubUser() != `CORP\nick` {
		t.Errorf("login with the new password: %d %q", p.Status, p.Message())
	}
	if p := s.loginAs(t, webtest.NewBrowser(), "nick", "Old-Passw0rd"); p.Status != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d", p.Status)
	}
	logs := s.logs.String()
	for _, want := range []string{"event=password_change_failed", "reason=wrong_password", "reason=password_too_short", "event=password_changed", "self_service=true"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	for _, pw := range []string{"Old-Passw0rd", "New-Passw0rd", "Wrong-Passw0rd", "Sh0rt!"} {
		if strings.Contains(logs, pw) {
			t.Errorf("the password %q appears in the log", pw)
		}
	}
}

// TestAccountPasswordChangeGuarded: only a signed-in user of a provider
// with password_change, from qlikgate's own page (CSRF token, origin),
// changes a password, and only their own; a wrong current password is a
// failed login for the throttle.
func TestAccountPasswordChangeGuarded(t *testing.T) {
	d := selfServiceDirectory()
	s := newStack(t, withDirectory(d), withWeb(func(c *web.Config) { c.Security.MaxAttempts, c.Security.FailureDelay = 2, 0 }))
	b := webtest.NewBrowser()
	s.loginAs(t, b, "nick", "Old-Passw0rd")
	good := accountForm(t, b.MustGet(t, s.srv.URL+"/account/password"), "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd")

	// alice signed in at the static provider, which cannot change passwords.
	static := webtest.NewBrowser()
	af := s.openHub(t, static, "").MustLoginForm(t, "alice", "alicepw")
	af.Set("provider", "local")
	if hub := static.MustPostForm(t, s.srv.URL+"/login", af); hub.HubUser() != `CORP\alice` {
		t.Fatalf("alice: %d %q", hub.Status, hub.Message())
	}
	if p := static.MustGet(t, s.srv.URL+"/account/password"); p.Status != http.StatusNotFound || strings.Contains(p.Body, `id="new-password"`) {
		t.Errorf("the page for a user who cannot change it: %d", p.Status)
	}
	if p := static.MustGet(t, s.srv.URL+"/logout"); strings.Contains(p.Body, `id="change-password"`) {
		t.Error("the sign-out page offers the change to a user who cannot change it")
	}
	badCSRF := url.Values{}
	for k, v := range good {
		badCSRF[k] = v
	}
	badCSRF.Set("csrf", "forged")
	crossSite, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/account/password", strings.NewReader(good.Encode()))
	crossSite.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	crossSite.Header.Set("Origin", "https://evil.example")
	for name, post := range map[string]func() (webtest.Page, error){
		"not signed in": func() (webtest.Page, error) {
			return webtest.NewBrowser().PostForm(s.srv.URL+"/account/password", good)
		},
		"no password change": func() (webtest.Page, error) { return static.PostForm(s.srv.URL+"/account/password", good) },
		"wrong CSRF token":   func() (webtest.Page, error) { return b.PostForm(s.srv.URL+"/account/password", badCSRF) },
		"cross-site":         func() (webtest.Page, error) { return b.Do(crossSite) },
	} {
		p, err := post()
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, p.Status)
		}
	}
	if got := d.calls(); got != 0 {
		t.Fatalf("%d changes reached the directory, want none", got)
	}

	wrong := url.Values{}
	for k, v := range good {
		wrong[k] = v
	}
	wrong.Set("current_password", "Wrong-Passw0rd")
	for i := range 2 {
		if p := b.MustPostForm(t, s.srv.URL+"/account/password", wrong); p.Status != http.StatusUnauthorized {
			t.Fatalf("wrong current password %d: %d %q", i+1, p.Status, p.Message())
		}
	}
	before := d.calls()
	if p := b.MustPostForm(t, s.srv.URL+"/account/password", good); p.Status != http.StatusTooManyRequests {
		t.Fatalf("after max_attempts wrong passwords: %d %q, want 429", p.Status, p.Message())
	}
	if d.calls() != before {
		t.Error("a throttled change reached the directory")
	}
	if p := s.loginAs(t, webtest.NewBrowser(), "nick", "Old-Passw0rd"); p.Status != http.StatusTooManyRequests {
		t.Errorf("login after the change's failures: %d, want 429: one limit for both", p.Status)
	}
}
