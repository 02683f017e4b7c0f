package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// changingDirectory is an in-process providers.PasswordChanger with the
// contract the LDAP provider keeps against Samba AD (tested there, in
// providers/ldap): a must-change user is refused with
// ReasonPasswordMustChange only after the right password, a wrong current
// password is ErrBadCredentials, a weak new one ErrPasswordRejected. The
// web flow is tested against it because a web test on Samba would contend
// for Samba's fixed ports with providers/ldap's tests when packages run in
// parallel; the full hub-to-Qlik flow against Samba lives in providers/ldap.
type changingDirectory struct {
	enabled bool
	mu      sync.Mutex
	users   map[string]*dirUser
	changes int // ChangePassword calls that reached the directory
}

type dirUser struct {
	password   string
	mustChange bool
}

func (d *changingDirectory) Login(_ context.Context, username, password string) (providers.Identity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[username]
	switch {
	case !ok:
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonUnknownUser, Err: providers.ErrBadCredentials}
	case u.password != password:
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonWrongPassword, Err: providers.ErrBadCredentials}
	case u.mustChange:
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonPasswordMustChange, Err: providers.ErrBadCredentials,
			UserText: "Your password has expired or must be changed. Change it, then sign in again."}
	}
	return providers.Identity{Subject: username, UserID: username}, nil
}

func (d *changingDirectory) PasswordChangeEnabled() bool { return d.enabled }

func (d *changingDirectory) ChangePassword(ctx context.Context, username, oldPassword, newPassword string) error {
	if err := providers.EnterAccount(ctx, username); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.changes++
	u, ok := d.users[username]
	switch {
	case !ok:
		return &providers.Failure{Reason: providers.ReasonUnknownUser, Err: providers.ErrBadCredentials}
	case u.password != oldPassword:
		return &providers.Failure{Reason: providers.ReasonWrongPassword, Err: providers.ErrBadCredentials}
	case len(newPassword) < 8:
		return &providers.Failure{Reason: providers.ReasonPasswordTooShort, Err: providers.ErrPasswordRejected}
	}
	u.password, u.mustChange = newPassword, false
	return nil
}

func (d *changingDirectory) calls() int { d.mu.Lock(); defer d.mu.Unlock(); return d.changes }

// withDirectory adds d as the password provider "corp".
func withDirectory(d *changingDirectory) option {
	return withProvider(func(testing.TB, string, *slog.Logger) web.Provider {
		return web.Provider{Common: providers.Common{ID: "corp", Kind: "fake", Label: "Company", Directory: "CORP"}, Impl: d}
	})
}

func newDirectory(enabled bool) *changingDirectory {
	return &changingDirectory{enabled: enabled, users: map[string]*dirUser{
		"mike": {password: "Old-Passw0rd", mustChange: true},
		"mary": {password: "Old-Passw0rd", mustChange: true},
	}}
}

// loginAs opens the hub and signs in at provider corp.
func (s *stack) loginAs(t *testing.T, b *webtest.Browser, user, pw string) webtest.Page {
	t.Helper()
	f := s.openHub(t, b, "").MustLoginForm(t, user, pw)
	f.Set("provider", "corp")
	return b.MustPostForm(t, s.srv.URL+"/login", f)
}

// changeForm fills the change page's form.
func changeForm(t *testing.T, p webtest.Page, current, next, confirm string) url.Values {
	t.Helper()
	if !strings.Contains(p.Body, `id="new-password"`) {
		t.Fatalf("not the change page: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	f := p.MustLoginForm(t, "", "")
	f.Del("username")
	f.Del("password")
	f.Set("current_password", current)
	f.Set("new_password", next)
	f.Set("confirm_password", confirm)
	return f
}

// TestPasswordChangeEndToEnd: a must-change user goes from the hub through
// the change page into Qlik; each refusal shows the change page again with
// its message, and is audited without any password in the log.
func TestPasswordChangeEndToEnd(t *testing.T) {
	d := newDirectory(true)
	s := newStack(t, withDirectory(d), withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }))
	b := webtest.NewBrowser()
	page := s.loginAs(t, b, "mike", "Old-Passw0rd")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "You must change your password before you continue.") {
		t.Fatalf("a must-change login: %d %q, want the change page\n%s", page.Status, page.Message(), page.Body)
	}
	steps := []struct {
		name                  string
		current, next, repeat string
		status                int
		message               string
	}{
		{"confirmation differs", "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd!", http.StatusBadRequest, "The two new passwords are not the same."},
		{"no new password", "Old-Passw0rd", "", "", http.StatusBadRequest, "Enter a new password."},
		{"wrong current password", "Wrong-Passw0rd", "New-Passw0rd", "New-Passw0rd", http.StatusUnauthorized, "The current password is incorrect."},
		{"too short", "Old-Passw0rd", "Sh0rt!", "Sh0rt!", http.StatusBadRequest, "The new password is too short."},
	}
	for _, st := range steps {
		page = b.MustPostForm(t, s.srv.URL+"/password", changeForm(t, page, st.current, st.next, st.repeat))
		if page.Status != st.status || page.Message() != st.message {
			t.Fatalf("%s: %d %q, want %d %q", st.name, page.Status, page.Message(), st.status, st.message)
		}
	}
	if got := d.calls(); got != 2 {
		t.Errorf("%d changes reached the directory, want 2 (mismatch and empty are caught before)", got)
	}
	hub := b.MustPostForm(t, s.srv.URL+"/password", changeForm(t, page, "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd"))
	if hub.HubUser() != `CORP\mike` {
		t.Fatalf("after the change: %d %s %q, want the hub as CORP\\mike", hub.Status, hub.URL, hub.Message())
	}
	logs := s.logs.String()
	for _, want := range []string{"event=password_change_failed", "reason=wrong_password", "reason=password_too_short",
		"event=password_changed", "event=login_succeeded"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	for _, pw := range []string{"Old-Passw0rd", "New-Passw0rd", "Wrong-Passw0rd", "Sh0rt!"} {
		if strings.Contains(logs, pw) {
			t.Errorf("the password %q appears in the log", pw)
		}
	}
	// The new password works on the login page; the old one does not.
	if p := s.loginAs(t, webtest.NewBrowser(), "mike", "New-Passw0rd"); p.HubUser() != `CORP\mike` {
		t.Errorf("login with the new password: %d %q", p.Status, p.Message())
	}
	if p := s.loginAs(t, webtest.NewBrowser(), "mike", "Old-Passw0rd"); p.Status != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d %q", p.Status, p.Message())
	}
}

// TestPasswordChangeOff: without the capability enabled, the user gets the
// message of the dead end, as before, and no change page.
func TestPasswordChangeOff(t *testing.T) {
	s := newStack(t, withDirectory(newDirectory(false)))
	p := s.loginAs(t, webtest.NewBrowser(), "mike", "Old-Passw0rd")
	if p.Status != http.StatusUnauthorized || strings.Contains(p.Body, `id="new-password"`) ||
		p.Message() != "Your password has expired or must be changed. Change it, then sign in again." {
		t.Fatalf("must-change without password change: %d %q\n%s", p.Status, p.Message(), p.Body)
	}
}

// TestPasswordChangeNeedsPendingChange: the change page changes only the
// password of the user whose login was refused for it, in that browser
// and flow, with the session's CSRF token and from qlikgate's origin.
func TestPasswordChangeNeedsPendingChange(t *testing.T) {
	d := newDirectory(true)
	s := newStack(t, withDirectory(d))
	b := webtest.NewBrowser()
	change := s.loginAs(t, b, "mike", "Old-Passw0rd")
	good := changeForm(t, change, "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd")

	other := webtest.NewBrowser() // never saw a must-change refusal
	login := s.openHub(t, other, "")
	noPending := changeForm(t, webtest.Page{Body: login.Body + `id="new-password"`}, "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd")
	badCSRF := url.Values{}
	for k, v := range good {
		badCSRF[k] = v
	}
	badCSRF.Set("csrf", "forged")
	wrongFlow := url.Values{}
	for k, v := range good {
		wrongFlow[k] = v
	}
	wrongFlow.Set("flow", noPending.Get("flow"))
	crossSite, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/password", strings.NewReader(good.Encode()))
	crossSite.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	crossSite.Header.Set("Origin", "https://evil.example")

	for name, post := range map[string]func() (webtest.Page, error){
		"no pending change": func() (webtest.Page, error) { return other.PostForm(s.srv.URL+"/password", noPending) },
		"wrong CSRF token":  func() (webtest.Page, error) { return b.PostForm(s.srv.URL+"/password", badCSRF) },
		"another flow":      func() (webtest.Page, error) { return b.PostForm(s.srv.URL+"/password", wrongFlow) },
		"cross-site":        func() (webtest.Page, error) { return b.Do(crossSite) },
	} {
		p, err := post()
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusForbidden || p.HubUser() != "" {
			t.Errorf("%s: %d %s, want 403", name, p.Status, p.URL)
		}
	}
	if got := d.calls(); got != 0 {
		t.Fatalf("%d changes reached the directory, want none", got)
	}
	if p := b.MustPostForm(t, s.srv.URL+"/password", good); p.HubUser() != `CORP\mike` {
		t.Fatalf("the genuine change after the refusals: %d %q", p.Status, p.Message())
	}
}

// TestPasswordChangeThrottled: a wrong current password counts as a
// failed login of the user: past max_attempts, the change waits like a
// login, and no further guess reaches the directory.
func TestPasswordChangeThrottled(t *testing.T) {
	d := newDirectory(true)
	s := newStack(t, withDirectory(d), withWeb(func(c *web.Config) { c.Security.MaxAttempts, c.Security.FailureDelay = 3, 0 }))
	b := webtest.NewBrowser()
	page := s.loginAs(t, b, "mary", "Old-Passw0rd")
	// One wrong password at the login page counts too.
	other := s.loginAs(t, webtest.NewBrowser(), "mary", "Wrong-1")
	if other.Status != http.StatusUnauthorized {
		t.Fatalf("wrong login: %d", other.Status)
	}
	for i := range 2 {
		page = b.MustPostForm(t, s.srv.URL+"/password", changeForm(t, page, "Wrong-Passw0rd", "New-Passw0rd", "New-Passw0rd"))
		if page.Status != http.StatusUnauthorized {
			t.Fatalf("wrong current password %d: %d %q", i+1, page.Status, page.Message())
		}
	}
	before := d.calls()
	page = b.MustPostForm(t, s.srv.URL+"/password", changeForm(t, page, "Old-Passw0rd", "New-Passw0rd", "New-Passw0rd"))
	if page.Status != http.StatusTooManyRequests || !strings.HasPrefix(page.Message(), "Too many sign-in attempts.") {
		t.Fatalf("after max_attempts failures: %d %q, want 429", page.Status, page.Message())
	}
	if d.calls() != before {
		t.Error("a throttled change reached the directory")
	}
	if p := s.loginAs(t, webtest.NewBrowser(), "mary", "Old-Passw0rd"); p.Status != http.StatusTooManyRequests {
		t.Errorf("login after the change's failures: %d, want 429: one limit for both", p.Status)
	}
}
