package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

var (
	windowTokenRe  = regexp.MustCompile(`data-token="([^"]*)"`)
	windowOriginRe = regexp.MustCompile(`data-origin="([^"]*)"`)
)

// windowURL is the access-token window of target id for a portal origin.
func (s *stack) windowURL(id, origin string) string {
	return s.srv.URL + "/t/" + id + "/access-token/window?" + url.Values{"origin": {origin}}.Encode()
}

// windowToken is the token a window page hands to its opener ("" when the
// page carries none), after checking the page's headers.
func windowToken(t *testing.T, p webtest.Page, origin string) string {
	t.Helper()
	m := windowTokenRe.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	if o := windowOriginRe.FindStringSubmatch(p.Body); o == nil || html.UnescapeString(o[1]) != origin {
		t.Errorf("the window posts to %v, want %s", o, origin)
	}
	for k, want := range map[string]string{
		"Cache-Control":              "no-store",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "unsafe-none",
		"X-Frame-Options":            "DENY",
	} {
		if got := p.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := p.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(p.Body, "<script>") || !strings.Contains(p.Body, `<script src="/static/accesstoken.js"`) {
		t.Error("the window page has inline script or lacks static/accesstoken.js")
	}
	return html.UnescapeString(m[1])
}

// TestAccessTokenWindowSignedIn: a signed-in user opening the window for
// the portal gets a page that carries a token acting as her, addressed
// to the portal; the token is the one the POST endpoint hands out (one
// cache), and is never logged.
func TestAccessTokenWindowSignedIn(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withEmbedOrigins("cloud", portal))
	b := webtest.NewBrowser()
	s.signIn(t, b)
	p := b.MustGet(t, s.windowURL("cloud", portal))
	tok := windowToken(t, p, portal)
	if p.Status != http.StatusOK || tok == "" {
		t.Fatalf("window: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if who, status := tenantMe(t, tenant, tok); who != "alice" {
		t.Fatalf("the window's token acts as %q (%d), want alice", who, status)
	}
	if again := s.mustAccessToken(t, b); again != tok {
		t.Error("the POST endpoint handed out another token: the window has a cache of its own")
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "event=access_token_issued") || !strings.Contains(logs, "origin="+portal) {
		t.Errorf("no access_token_issued event for the portal origin:\n%s", logs)
	}
	if strings.Contains(logs, tok) {
		t.Error("the access token is in the log")
	}
	js := b.MustGet(t, s.srv.URL+"/static/accesstoken.js")
	if js.Status != http.StatusOK || !strings.Contains(js.Body, "opener.postMessage(") || !strings.Contains(js.Body, "qlikgate:access-token") {
		t.Errorf("static/accesstoken.js: %d", js.Status)
	}
}

// TestAccessTokenWindowRefused: origins that are not exactly one of the
// target's embed_origins, targets without tokens: an error page, no token,
// no tenant call.
func TestAccessTokenWindowRefused(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withEmbedOrigins("cloud", portal))
	b := webtest.NewBrowser()
	s.signIn(t, b)
	for _, tt := range []struct {
		name, target, origin string
		status               int
	}{
		{"foreign origin", "cloud", "https://evil.example", http.StatusBadRequest},
		{"other port", "cloud", portal + ":8443", http.StatusBadRequest},
		{"other scheme", "cloud", "http://portal.example.com", http.StatusBadRequest},
		{"with a path", "cloud", portal + "/app", http.StatusBadRequest},
		{"with a slash", "cloud", portal + "/", http.StatusBadRequest},
		{"another spelling", "cloud", "https://PORTAL.example.com", http.StatusBadRequest},
		{"null", "cloud", "null", http.StatusBadRequest},
		{"none", "cloud", "", http.StatusBadRequest},
		{"qlikgate itself, not an embed origin", "cloud", s.srv.URL, http.StatusBadRequest},
		{"target without tokens", "sense", portal, http.StatusNotFound},
		{"unknown target", "nope", portal, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tenant.OAuthStats()
			p := b.MustGet(t, s.windowURL(tt.target, tt.origin))
			if p.Status != tt.status || windowToken(t, p, tt.origin) != "" || strings.Contains(p.Body, "accesstoken.js") {
				t.Fatalf("window for %s/%q: %d, want %d and no token\n%s", tt.target, tt.origin, p.Status, tt.status, p.Body)
			}
			if !strings.Contains(p.Header.Get("Content-Type"), "text/html") || p.Message() == "" {
				t.Errorf("not a friendly error page: %s\n%s", p.Header.Get("Content-Type"), p.Body)
			}
			if after := tenant.OAuthStats(); after != before {
				t.Errorf("a refused window reached the tenant: %+v → %+v", before, after)
			}
		})
	}
	if !strings.Contains(s.logs.String(), "reason=window_origin") {
		t.Error("no csrf_failed reason=window_origin in the log")
	}
}

// TestAccessTokenWindowSignsInAndReturns: a browser that is not signed in
// goes through the normal login and comes back to the same window, which
// then carries the token; the login never hands off to Qlik.
func TestAccessTokenWindowSignsInAndReturns(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withEmbedOrigins("cloud", portal))
	b := webtest.NewBrowser()
	first, err := b.NoFollow().Get(s.windowURL("cloud", portal))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(first.Header.Get("Location"))
	if first.Status != http.StatusFound || loc.Path != "/login" || loc.Query().Get("flow") == "" {
		t.Fatalf("signed out: %d → %q, want a redirect to /login?flow=", first.Status, first.Header.Get("Location"))
	}
	login := b.MustGet(t, s.srv.URL+loc.String())
	if !login.IsLoginPage() {
		t.Fatalf("not the login page: %d %s", login.Status, login.URL)
	}
	// The window's sign-in keeps the opener; every other page cuts it.
	if coop := login.Header.Get("Cross-Origin-Opener-Policy"); coop != "unsafe-none" {
		t.Errorf("the window's login page: COOP %q, want unsafe-none", coop)
	}
	if coop := b.MustGet(t, s.srv.URL+"/login").Header.Get("Cross-Origin-Opener-Policy"); coop != "same-origin" {
		t.Errorf("the plain login page: COOP %q, want same-origin", coop)
	}
	back, err := b.NoFollow().PostForm(s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if err != nil {
		t.Fatal(err)
	}
	want := "/t/cloud/access-token/window?" + url.Values{"origin": {portal}}.Encode()
	if back.Status != http.StatusFound || back.Header.Get("Location") != want || back.Header.Get("Cross-Origin-Opener-Policy") != "unsafe-none" {
		t.Fatalf("after the password: %d → %q (COOP %q), want %q (unsafe-none)", back.Status, back.Header.Get("Location"),
			back.Header.Get("Cross-Origin-Opener-Policy"), want)
	}
	p := b.MustGet(t, s.srv.URL+back.Header.Get("Location"))
	tok := windowToken(t, p, portal)
	if who, _ := tenantMe(t, tenant, tok); tok == "" || who != "alice" {
		t.Fatalf("back at the window: %d, token acting as %q\n%s", p.Status, who, p.Body)
	}
	if st := s.sim.Stats(); st.TicketsIssued != 0 {
		t.Errorf("the window's sign-in handed off to Qlik: %+v", st)
	}
}

// TestAccessTokenWindowSecondFactor: while a second factor is owed the
// window gives no token and sends the browser to the second step; once
// it is passed, the browser is back at the window and gets one.
func TestAccessTokenWindowSecondFactor(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withEmbedOrigins("cloud", portal),
		withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP}, IssuerName: "Analytics"}))
	b := webtest.NewBrowser()
	s.signInOwing(t, b, "/mfa/enrol")
	enrol := b.MustGet(t, s.windowURL("cloud", portal))
	if enrol.URL.Path != "/mfa/enrol" || windowToken(t, enrol, portal) != "" {
		t.Fatalf("window with a factor owed: %d %s, want the enrolment page and no token", enrol.Status, enrol.URL)
	}
	if st := tenant.OAuthStats(); st.TokensIssued != 0 || st.TokenRequestsFailed != 0 {
		t.Fatalf("the tenant was asked for a session that owes a factor: %+v", st)
	}
	m := secretRe.FindStringSubmatch(enrol.Body)
	if m == nil {
		t.Fatalf("no TOTP secret on the enrolment page:\n%s", enrol.Body)
	}
	rec := b.MustPostForm(t, s.srv.URL+"/mfa/enrol", codeForm(t, enrol, "code", totpCode(t, s, m[1])))
	// The second step of the window's sign-in keeps the opener too.
	for name, p := range map[string]webtest.Page{"enrolment": enrol, "recovery codes": rec} {
		if coop := p.Header.Get("Cross-Origin-Opener-Policy"); coop != "unsafe-none" {
			t.Errorf("the window's %s page: COOP %q, want unsafe-none", name, coop)
		}
	}
	cont := continueRe.FindStringSubmatch(rec.Body)
	if cont == nil {
		t.Fatalf("no #continue on the recovery page: %d\n%s", rec.Status, rec.Body)
	}
	p := b.MustGet(t, s.srv.URL+html.UnescapeString(cont[1]))
	tok := windowToken(t, p, portal)
	if who, _ := tenantMe(t, tenant, tok); p.URL.Path != "/t/cloud/access-token/window" || who != "alice" {
		t.Fatalf("after the second factor: %d %s, token acting as %q\n%s", p.Status, p.URL, who, p.Body)
	}
}

// TestAccessTokenWindowAccessDenied: a user the target's access rules
// refuse gets the 403 page and no token.
func TestAccessTokenWindowAccessDenied(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withEmbedOrigins("cloud", portal), withAccess("cloud", qlik.Access{DeniedGroups: []string{"eu"}}))
	b := webtest.NewBrowser()
	s.signIn(t, b)
	p := b.MustGet(t, s.windowURL("cloud", portal))
	if p.Status != http.StatusForbidden || windowToken(t, p, portal) != "" || !strings.Contains(p.Body, "alice") && !strings.Contains(p.Body, "Alice") {
		t.Fatalf("denied user: %d\n%s", p.Status, p.Body)
	}
	if st := tenant.OAuthStats(); st.TokensIssued != 0 || st.TokenRequestsFailed != 0 {
		t.Errorf("the tenant was asked for a denied user: %+v", st)
	}
	if !strings.Contains(s.logs.String(), "event=access_denied") {
		t.Error("no access_denied event in the log")
	}
}

// TestAccessTokenWindowOIDC: a sign-in through a redirect provider started
// by the window comes back to the window from the identity provider's
// callback, with the opener kept (COOP unsafe-none on that redirect).
func TestAccessTokenWindowOIDC(t *testing.T) {
	op := oidctest.Start(t)
	var tenant *qliksim.Cloud
	s := newStack(t, withOIDC(op, nil), withCloud(&tenant), withEmbedOrigins("cloud", portal))
	b := webtest.NewBrowser()
	first, err := b.NoFollow().Get(s.windowURL("cloud", portal))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(first.Header.Get("Location"))
	flowID := loc.Query().Get("flow")
	if !strings.HasPrefix(flowID, "w-") {
		t.Fatalf("signed out: → %q, want /login?flow=w-…", first.Header.Get("Location"))
	}
	cb := op.Login(t, b.Client, s.srv.URL+"/login/idp?flow="+url.QueryEscape(flowID), "alice", "alicepass")
	back, err := b.NoFollow().Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	want := "/t/cloud/access-token/window?" + url.Values{"origin": {portal}}.Encode()
	if back.Status != http.StatusFound || back.Header.Get("Location") != want || back.Header.Get("Cross-Origin-Opener-Policy") != "unsafe-none" {
		t.Fatalf("the callback: %d → %q (COOP %q), want %q (unsafe-none)", back.Status, back.Header.Get("Location"),
			back.Header.Get("Cross-Origin-Opener-Policy"), want)
	}
	p := b.MustGet(t, s.srv.URL+want)
	if tok := windowToken(t, p, portal); tok == "" {
		t.Fatalf("back at the window: %d, no token\n%s", p.Status, p.Body)
	} else if who, status := tenantMe(t, tenant, tok); who != "alice" {
		t.Errorf("the token acts as %q (%d), want alice", who, status)
	}
}
