package web_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// oidcAuthorize sends the browser, stopping at redirects, to the
// provider's authorization endpoint (the entry) as the tenant would, with
// extra parameters.
func oidcAuthorize(t *testing.T, s *stack, b *webtest.Browser, tenant *qliksim.Cloud, extra url.Values) webtest.Page {
	t.Helper()
	q := url.Values{"client_id": {"qlik-cloud"}, "redirect_uri": {tenant.URL() + "/login/callback"}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"st-42"}, "nonce": {"n-42"}}
	for k, v := range extra {
		q[k] = v
	}
	return b.NoFollow().MustGet(t, s.srv.URL+"/t/cloudoidc/?"+q.Encode())
}

// callback is where a hand-off or an error response sent the browser:
// the tenant's registered redirect URI, with its query.
func callback(t *testing.T, tenant *qliksim.Cloud, p webtest.Page) url.Values {
	t.Helper()
	loc, err := url.Parse(p.Header.Get("Location"))
	if p.Status != http.StatusFound || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != tenant.URL()+"/login/callback" {
		t.Fatalf("want a redirect to the registered redirect URI, got %d %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	if loc.Query().Get("state") != "st-42" {
		t.Fatalf("state %q in %s", loc.Query().Get("state"), loc)
	}
	return loc.Query()
}

// authTimeOf redeems a code at the token endpoint, as the tenant does, and
// returns the ID token's auth_time.
func authTimeOf(t *testing.T, s *stack, tenant *qliksim.Cloud, code string) int64 {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tenant.URL() + "/login/callback"}}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/t/cloudoidc/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("qlik-cloud", oidcSecret)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: %d %v", resp.StatusCode, err)
	}
	parts := strings.Split(out.IDToken, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", out.IDToken)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		AuthTime *int64 `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.AuthTime == nil {
		t.Fatalf("ID token %s has no auth_time", raw)
	}
	return *claims.AuthTime
}

// TestCloudOIDCPromptAndMaxAge: prompt=none never shows the login page
// (a signed-out browser goes back to the registered redirect URI with
// login_required, never to an unregistered one); prompt=login and max_age
// make a signed-in browser sign in again, and auth_time is the sign-in's
// time, not the hand-off's.
func TestCloudOIDCPromptAndMaxAge(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withHTTPS(), withCloudOIDC(&tenant))
	// qlikgate's clock an hour behind the provider's, so that moving it
	// on keeps every sign-in in the past for the provider too.
	s.clock.Advance(-time.Hour)
	b := tenantBrowser(s, tenant)
	signIn := func(p webtest.Page) string {
		t.Helper()
		if !p.IsLoginPage() {
			t.Fatalf("want the login page, got %d %s %q\n%s", p.Status, p.URL, p.Header.Get("Location"), p.Body)
		}
		done := b.NoFollow().MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "alicepw"))
		return callback(t, tenant, done).Get("code")
	}

	// Signed out, prompt=none: the client's error answer, no login page.
	q := callback(t, tenant, oidcAuthorize(t, s, b, tenant, url.Values{"prompt": {"none"}}))
	if q.Get("error") != "login_required" || q.Has("code") {
		t.Fatalf("prompt=none signed out: %v", q)
	}
	// ...and to an unregistered redirect URI it is an error page, no redirect.
	for _, uri := range []string{"https://evil.example/login/callback", tenant.URL() + "/other"} {
		p := oidcAuthorize(t, s, b, tenant, url.Values{"prompt": {"none"}, "redirect_uri": {uri}})
		if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
			t.Fatalf("prompt=none to %s: %d %q", uri, p.Status, p.Header.Get("Location"))
		}
	}

	first := authTimeOf(t, s, tenant, signIn(oidcAuthorize(t, s, b, tenant, nil)))
	if want := s.clock.Now().Unix(); first != want {
		t.Fatalf("auth_time %d, want the sign-in's %d", first, want)
	}
	s.clock.Advance(2 * time.Minute)
	// Single sign-on, prompt=none included: a code, and auth_time is the
	// sign-in's, two minutes ago.
	for _, extra := range []url.Values{nil, {"prompt": {"none"}}, {"max_age": {"3600"}}, {"prompt": {"consent"}}} {
		q := callback(t, tenant, oidcAuthorize(t, s, b, tenant, extra))
		if got := authTimeOf(t, s, tenant, q.Get("code")); got != first {
			t.Errorf("SSO with %v: auth_time %d, want %d", extra, got, first)
		}
	}
	// prompt=login: the login page although signed in, then a new sign-in.
	second := authTimeOf(t, s, tenant, signIn(oidcAuthorize(t, s, b, tenant, url.Values{"prompt": {"login"}})))
	if second != first+120 {
		t.Fatalf("after prompt=login auth_time %d, want %d", second, first+120)
	}
	s.clock.Advance(2 * time.Minute)
	for _, extra := range []url.Values{{"max_age": {"0"}}, {"max_age": {"1"}}, {"max_age": {"60"}}} {
		if p := oidcAuthorize(t, s, b, tenant, extra); !p.IsLoginPage() {
			t.Errorf("max_age %s with a sign-in of two minutes: %d %q", extra.Get("max_age"), p.Status, p.Header.Get("Location"))
		}
	}
	q = callback(t, tenant, oidcAuthorize(t, s, b, tenant, url.Values{"prompt": {"none"}, "max_age": {"60"}}))
	if q.Get("error") != "login_required" {
		t.Fatalf("prompt=none with a sign-in older than max_age: %v", q)
	}
	third := authTimeOf(t, s, tenant, signIn(oidcAuthorize(t, s, b, tenant, url.Values{"max_age": {"60"}})))
	if third != second+120 {
		t.Fatalf("after max_age auth_time %d, want %d", third, second+120)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "event=login_required") || !strings.Contains(logs, "event=reauthenticate") {
		t.Error("the prompt=none answer or the forced sign-in is not logged")
	}
}

// TestCloudOIDCPromptNoneOwingFactor: a sign-in that still owes its
// second factor gets no code for prompt=none, only login_required.
func TestCloudOIDCPromptNoneOwingFactor(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withHTTPS(), withCloudOIDC(&tenant), withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP}}))
	b := tenantBrowser(s, tenant)
	login := oidcAuthorize(t, s, b, tenant, nil)
	if !login.IsLoginPage() {
		t.Fatalf("entry: %d %s", login.Status, login.URL)
	}
	if p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); p.URL.Path != "/mfa/enrol" {
		t.Fatalf("after the password: %d %s", p.Status, p.URL)
	}
	q := callback(t, tenant, oidcAuthorize(t, s, b, tenant, url.Values{"prompt": {"none"}}))
	if q.Get("error") != "login_required" || q.Has("code") {
		t.Fatalf("prompt=none owing a factor: %v", q)
	}
	// Without prompt=none it is the second step: nothing goes to the tenant.
	if p := oidcAuthorize(t, s, b, tenant, nil); strings.HasPrefix(p.Header.Get("Location"), tenant.URL()) || p.IsLoginPage() {
		t.Fatalf("owing a factor, the entry answered %d %q", p.Status, p.Header.Get("Location"))
	}
}

// TestCloudOIDCPromptNoneAccessDenied: a signed-in user whom the target's
// access rules refuse gets, for prompt=none, the client's access_denied
// answer at the registered redirect URI (prompt=none allows no page), and
// no code; without prompt=none the denial page, as for every target.
func TestCloudOIDCPromptNoneAccessDenied(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withHTTPS(), withCloudOIDC(&tenant), withAccess("cloudoidc", qlik.Access{DeniedGroups: []string{"sales"}}))
	b := tenantBrowser(s, tenant)
	login := oidcAuthorize(t, s, b, tenant, nil)
	if !login.IsLoginPage() {
		t.Fatalf("entry: %d %s", login.Status, login.URL)
	}
	if p := b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); p.Status != http.StatusForbidden {
		t.Fatalf("sign-in of a denied user: %d %q, want the 403 page", p.Status, p.Header.Get("Location"))
	}
	q := callback(t, tenant, oidcAuthorize(t, s, b, tenant, url.Values{"prompt": {"none"}}))
	if q.Get("error") != "access_denied" || q.Has("code") {
		t.Fatalf("prompt=none for a denied user: %v", q)
	}
	if d := q.Get("error_description"); strings.Contains(strings.ToLower(d), "sales") || strings.Contains(d, "denied_groups") {
		t.Errorf("the error description names the rule: %q", d)
	}
	if p := oidcAuthorize(t, s, b, tenant, nil); p.Status != http.StatusForbidden || p.Header.Get("Location") != "" {
		t.Fatalf("without prompt=none: %d %q, want the 403 page", p.Status, p.Header.Get("Location"))
	}
	if n := strings.Count(s.logs.String(), "event=access_denied"); n < 3 {
		t.Errorf("%d access_denied lines, want one per refusal (3)", n)
	}
}
