package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// postWith posts form to u with extra request headers, without following
// the answer's redirect.
func postWith(t *testing.T, b *webtest.Browser, u string, form url.Values, h http.Header) webtest.Page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range h {
		req.Header[k] = v
	}
	p, err := b.NoFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// originCases are the Origin and Sec-Fetch-Site a browser (or not) sends
// with a form of qlikgate's, and whether qlikgate must take it. self is
// qlikgate's own origin.
func originCases(self string) []struct {
	name string
	h    http.Header
	ok   bool
} {
	u, _ := url.Parse(self)
	return []struct {
		name string
		h    http.Header
		ok   bool
	}{
		{"same origin", http.Header{"Origin": {self}, "Sec-Fetch-Site": {"same-origin"}}, true},
		{"same origin, other spelling", http.Header{"Origin": {"HTTP://" + strings.ToUpper(u.Host)}}, true},
		{"another site", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}, false},
		{"another site claiming same-origin", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"same-origin"}}, false},
		{"same host, other port", http.Header{"Origin": {"http://" + u.Hostname() + ":1"}}, false},
		{"same host, https", http.Header{"Origin": {"https://" + u.Host}}, false},
		{"origin with a path", http.Header{"Origin": {self + "/login"}}, false},
		{"Origin: null", http.Header{"Origin": {"null"}}, false},
		{"Origin: null from a sandboxed frame", http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"cross-site"}}, false},
		{"Origin: null from own page under no-referrer", http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"same-origin"}}, true},
		{"empty Origin", http.Header{"Origin": {""}}, false},
		{"no Origin, cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, false},
		{"no Origin, same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}, false},
		{"no Origin, same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}, true},
		{"no Origin, typed by the user", http.Header{"Sec-Fetch-Site": {"none"}}, true},
		{"neither: the token decides", http.Header{}, true},
	}
}

// TestLoginChecksOrigin: a login form with the right CSRF token is still
// refused when the browser says another site sent it.
func TestLoginChecksOrigin(t *testing.T) {
	for _, prefix := range []string{"", "qlikgate/"} {
		t.Run("public_url path /"+prefix, func(t *testing.T) {
			s := newStack(t, withWeb(func(c *web.Config) { c.Server.PublicURL += prefix }))
			base := s.srv.URL + "/" + prefix
			for _, tt := range originCases(s.srv.URL) {
				t.Run(tt.name, func(t *testing.T) {
					b := webtest.NewBrowser()
					login := b.MustGet(t, base+"login")
					tickets := s.sim.Stats().TicketsIssued
					p := postWith(t, b, base+"login", login.MustLoginForm(t, "alice", "alicepw"), tt.h)
					if tt.ok {
						if p.Status != http.StatusFound || !strings.Contains(p.Header.Get("Location"), "qlikTicket=") {
							t.Fatalf("refused: %d\n%s", p.Status, p.Body)
						}
						return
					}
					if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This sign-in page had expired") || !strings.Contains(p.Body, `id="reference"`) {
						t.Fatalf("got %d, want 403 and the expired-form page\n%s", p.Status, p.Body)
					}
					if s.sim.Stats().TicketsIssued != tickets {
						t.Fatal("a ticket was issued for a refused form")
					}
					rid := "request_id=" + p.Header.Get("X-Request-Id") + " "
					if line := lineWith(s.logs.String(), rid, "event=csrf_failed"); !strings.Contains(line, "reason=") {
						t.Fatalf("no csrf_failed line with a reason for this request:\n%s", s.logs.String())
					}
					if line := lineWith(s.logs.String(), rid, "event=login_"); line != "" {
						t.Errorf("a refused form reached the provider: %s", line)
					}
				})
			}
		})
	}
}

var regexpCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// lineWith is the first line of logs that contains every part, or "".
func lineWith(logs string, parts ...string) string {
	for line := range strings.Lines(logs) {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return line
		}
	}
	return ""
}

// TestLogoutChecksOrigin: another site cannot sign the user out either,
// even with the token, on /logout and /t/{target}/logout.
func TestLogoutChecksOrigin(t *testing.T) {
	s := newStack(t)
	for _, path := range []string{"/logout", "/t/sense/logout"} {
		for _, tt := range originCases(s.srv.URL) {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				b := webtest.NewBrowser()
				login := b.MustGet(t, s.srv.URL+"/")
				b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
				confirm := b.MustGet(t, s.srv.URL+path)
				csrf := regexpCSRF.FindStringSubmatch(confirm.Body)
				if csrf == nil {
					t.Fatalf("no logout form:\n%s", confirm.Body)
				}
				p := postWith(t, b, s.srv.URL+path, url.Values{"csrf": {csrf[1]}}, tt.h)
				signedIn := b.NoFollow().MustGet(t, s.srv.URL+"/").Status == http.StatusFound
				if tt.ok {
					if p.Status != http.StatusOK || !strings.Contains(p.Body, "signed out") || signedIn {
						t.Fatalf("logout refused: %d signed in %v\n%s", p.Status, signedIn, p.Body)
					}
					return
				}
				if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This page had expired") || !signedIn {
					t.Fatalf("got %d (signed in %v), want 403 and still signed in\n%s", p.Status, signedIn, p.Body)
				}
			})
		}
	}
	line := lineWith(s.logs.String(), "event=csrf_failed", "reason=origin", `origin=https://evil.example`)
	if line == "" {
		t.Errorf("no csrf_failed line naming the origin:\n%s", s.logs.String())
	}
}

// TestRefusedOriginIsTruncatedInTheLog: the Origin is the client's
// choice; the log keeps its beginning.
func TestRefusedOriginIsTruncatedInTheLog(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	login := b.MustGet(t, s.srv.URL+"/login")
	long := "https://" + strings.Repeat("e", 2000) + ".example"
	if p := postWith(t, b, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"), http.Header{"Origin": {long}}); p.Status != http.StatusForbidden {
		t.Fatalf("%d", p.Status)
	}
	line := lineWith(s.logs.String(), "event=csrf_failed")
	if line == "" || strings.Contains(line, long) || !strings.Contains(line, "origin=https://eeee") || len(line) > 600 {
		t.Errorf("csrf_failed line: %q", line)
	}
}
