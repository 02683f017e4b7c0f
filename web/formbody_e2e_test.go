package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestCredentialsOnlyFromTheBody: a login or logout whose fields are in the
// URL instead of the body is refused, so passwords and tokens never have a
// reason to be in a URL (proxy access logs keep URLs). Echo's FormValue
// used to fall back to the query string.
func TestCredentialsOnlyFromTheBody(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	f := s.openHub(t, b, "").MustLoginForm(t, "alice", "alicepw")
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/login?"+f.Encode(), strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusForbidden || p.HubUser() != "" {
		t.Fatalf("login with every field in the URL: %d, hub user %q; want 403 (no CSRF token in the body)", p.Status, p.HubUser())
	}
	// The token in the body but the credentials in the URL: no password.
	body := "csrf=" + f.Get("csrf") + "&flow=" + f.Get("flow")
	req, _ = http.NewRequest(http.MethodPost, s.srv.URL+"/login?username=alice&password=alicepw", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p, err = b.Do(req); err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusUnauthorized || p.HubUser() != "" {
		t.Fatalf("credentials in the URL: %d, hub user %q; want 401", p.Status, p.HubUser())
	}
	// The same fields in the body sign in.
	if p = b.MustPostForm(t, s.srv.URL+"/login", s.openHub(t, b, "").MustLoginForm(t, "alice", "alicepw")); p.HubUser() != `CORP\alice` {
		t.Fatalf("login from the body: %d %q", p.Status, p.Message())
	}
	// Logout: a token in the URL does not sign out.
	csrf := csrfOf(t, b.MustGet(t, s.srv.URL+"/logout"))
	req, _ = http.NewRequest(http.MethodPost, s.srv.URL+"/logout?csrf="+csrf, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p, err = b.Do(req); err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusForbidden {
		t.Fatalf("logout with the token in the URL: %d, want 403", p.Status)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token of the page's form.
func csrfOf(t *testing.T, p webtest.Page) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no CSRF field on the page (%d):\n%s", p.Status, p.Body)
	}
	return m[1]
}
