package web_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// askAccessToken is a mashup script's fetch(POST /t/{id}/access-token,
// {credentials: "include"}) from origin ("" sends no Origin), with the
// custom header unless header is false.
func (s *stack) askAccessToken(t *testing.T, b *webtest.Browser, id, origin string, header bool) (webtest.Page, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/t/"+id+"/access-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "same-site")
		if origin == s.srv.URL {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
	}
	if header {
		req.Header.Set("X-Qlikgate-Request", "1")
	}
	p, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(p.Body), &body); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", p.Status, err, p.Body)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return p, body
}

// mustAccessToken asks for a token from qlikgate's own origin and wants one.
func (s *stack) mustAccessToken(t *testing.T, b *webtest.Browser) string {
	t.Helper()
	p, body := s.askAccessToken(t, b, "cloud", s.srv.URL, true)
	tok, _ := body["access_token"].(string)
	if p.Status != http.StatusOK || tok == "" || body["token_type"] != "bearer" {
		t.Fatalf("access token: %d %v", p.Status, body)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(body["expires_at"])); err != nil {
		t.Errorf("expires_at %v: %v", body["expires_at"], err)
	}
	return tok
}

// tenantMe calls the tenant's bearer-protected API with tok and returns
// the user it acts as ("" and the status when refused).
func tenantMe(t testing.TB, tenant *qliksim.Cloud, tok string) (string, int) {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tenant.PKI().CertPool()}}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, tenant.URL()+"/api/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct{ Subject string }
	if resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		t.Fatal(err)
	}
	return me.Subject, resp.StatusCode
}

// TestAccessTokenEndToEnd: alice, new to the tenant, gets a token (the
// tenant refuses the unknown user, qlikgate creates her with the admin
// client and asks again), the tenant's API knows her by it; the next
// request is served from the cache without a tenant call; once the token
// nears expiry a fresh one is fetched.
func TestAccessTokenEndToEnd(t *testing.T) {
	var tenant *qliksim.Cloud
	clk := &clock{t: time.Now()}
	s := newStack(t, withCloudSetup(&tenant, cloudSetup{now: clk.Now, tokenLifetime: 30 * time.Minute}))
	b := webtest.NewBrowser()
	s.signIn(t, b)
	if _, known := tenant.User("alice"); known {
		t.Fatal("alice exists in the tenant before her first embed")
	}

	tok := s.mustAccessToken(t, b)
	if who, status := tenantMe(t, tenant, tok); who != "alice" {
		t.Fatalf("the tenant API with the token: %q (%d), want alice", who, status)
	}
	u, _ := tenant.User("alice")
	if u.Name != "Alice" || u.Email != "alice@example.org" {
		t.Errorf("created user %+v", u)
	}
	st := tenant.OAuthStats()
	// impersonation refused (unknown user), admin token, impersonation.
	if st.UsersCreatedByAPI != 1 || st.ImpersonationTokens != 1 || st.TokensIssued != 2 || st.TokenRequestsFailed != 1 {
		t.Errorf("tenant stats after the first token: %+v", st)
	}
	logs := s.logs.String()
	for _, want := range []string{"event=embed_user_created", "event=access_token_issued", "cached=false"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}

	// Cached: the same token, no tenant call.
	if again := s.mustAccessToken(t, b); again != tok {
		t.Error("the second request got another token: not cached")
	}
	if after := tenant.OAuthStats(); after != st {
		t.Errorf("the cached request called the tenant: %+v → %+v", st, after)
	}
	if !strings.Contains(s.logs.String(), "cached=true") {
		t.Error("the cached answer is not logged as cached=true")
	}

	// Shortly before expiry the cache lets go and the tenant is asked.
	clk.Advance(29*time.Minute + 30*time.Second)
	fresh := s.mustAccessToken(t, b)
	if fresh == tok {
		t.Error("a token a minute from expiry was handed out again")
	}
	if after := tenant.OAuthStats(); after.ImpersonationTokens != 2 || after.UsersCreatedByAPI != 1 {
		t.Errorf("refresh: %+v, want one more impersonation and no new user", after)
	}
	if who, _ := tenantMe(t, tenant, fresh); who != "alice" {
		t.Errorf("the fresh token acts as %q", who)
	}
}

// TestAccessTokenUsersNeverMixed: alice and bob ask many times at once;
// each gets a token that acts as themselves, and each user costs one
// impersonation however many ask at the same time (singleflight + cache).
func TestAccessTokenUsersNeverMixed(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant))
	users := map[string]*webtest.Browser{"alice": webtest.NewBrowser(), "bob": webtest.NewBrowser()}
	for name, b := range users {
		login := s.openHub(t, b, "")
		b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, name, name+"pw"))
	}
	const each = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]map[string]bool{} // user → tokens received
	for name, b := range users {
		for range each {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/t/cloud/access-token", nil)
				req.Header.Set("X-Qlikgate-Request", "1")
				req.Header.Set("Origin", s.srv.URL)
				p, err := b.Do(req)
				if err != nil || p.Status != http.StatusOK {
					t.Errorf("%s: %v %d %s", name, err, p.Status, p.Body)
					return
				}
				var body struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.Unmarshal([]byte(p.Body), &body)
				mu.Lock()
				if got[name] == nil {
					got[name] = map[string]bool{}
				}
				got[name][body.AccessToken] = true
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for name, toks := range got {
		if len(toks) != 1 {
			t.Errorf("%s received %d different tokens, want one (cached)", name, len(toks))
		}
		for tok := range toks {
			if who, _ := tenantMe(t, tenant, tok); who != name {
				t.Errorf("%s's token acts as %q", name, who)
			}
		}
	}
	if st := tenant.OAuthStats(); st.ImpersonationTokens != 2 || st.UsersCreatedByAPI != 2 {
		t.Errorf("tenant saw %+v, want exactly one impersonation and one creation per user", st)
	}
}

// TestAccessTokenRefused: every way to be refused reaches the tenant with
// nothing.
func TestAccessTokenRefused(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withEmbedOrigins("cloud", portal))
	signedIn := webtest.NewBrowser()
	s.signIn(t, signedIn)
	for _, tt := range []struct {
		name   string
		b      *webtest.Browser
		target string
		origin string
		header bool
		status int
		code   string
	}{
		{"not signed in", webtest.NewBrowser(), "cloud", s.srv.URL, true, http.StatusUnauthorized, "not_signed_in"},
		{"no custom header", signedIn, "cloud", s.srv.URL, false, http.StatusForbidden, "header_missing"},
		{"no header from the portal", signedIn, "cloud", portal, false, http.StatusForbidden, "header_missing"},
		{"foreign origin", signedIn, "cloud", "https://evil.example", true, http.StatusForbidden, "origin_not_allowed"},
		{"null origin", signedIn, "cloud", "null", true, http.StatusForbidden, "origin_not_allowed"},
		{"target without tokens", signedIn, "sense", s.srv.URL, true, http.StatusNotFound, "no_access_token_target"},
		{"unknown target", signedIn, "nope", s.srv.URL, true, http.StatusNotFound, "no_access_token_target"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tenant.OAuthStats()
			p, body := s.askAccessToken(t, tt.b, tt.target, tt.origin, tt.header)
			if p.Status != tt.status || body["error"] != tt.code || body["access_token"] != nil {
				t.Fatalf("answer %d %v, want %d %s", p.Status, body, tt.status, tt.code)
			}
			if after := tenant.OAuthStats(); after != before {
				t.Errorf("a refused request reached the tenant: %+v → %+v", before, after)
			}
			if tt.origin == "https://evil.example" && p.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Error("CORS headers for a foreign origin")
			}
		})
	}
	if !strings.Contains(s.logs.String(), "event=csrf_failed") {
		t.Error("no csrf_failed event in the log")
	}

	// From the portal: preflight and credentialed CORS on the answer.
	req, _ := http.NewRequest(http.MethodOptions, s.srv.URL+"/t/cloud/access-token", nil)
	req.Header.Set("Origin", portal)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "x-qlikgate-request")
	if pre, err := signedIn.Do(req); err != nil || pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != portal ||
		pre.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight from the portal: %v %d %v", err, pre.Status, pre.Header)
	}
	p, body := s.askAccessToken(t, signedIn, "cloud", portal, true)
	if p.Status != http.StatusOK || body["access_token"] == nil || p.Header.Get("Access-Control-Allow-Origin") != portal ||
		p.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(p.Header.Get("Vary"), "Origin") {
		t.Fatalf("from the portal: %d %v %v", p.Status, body, p.Header)
	}
}

func TestAccessTokenAccessDenied(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withAccess("cloud", qlik.Access{DeniedGroups: []string{"eu"}}))
	b := webtest.NewBrowser()
	s.signIn(t, b) // through the sense hub, which alice may enter
	p, body := s.askAccessToken(t, b, "cloud", s.srv.URL, true)
	if p.Status != http.StatusForbidden || body["error"] != "access_denied" || body["access_token"] != nil {
		t.Fatalf("answer %d %v, want 403 access_denied", p.Status, body)
	}
	if st := tenant.OAuthStats(); st.TokensIssued != 0 || st.TokenRequestsFailed != 0 {
		t.Errorf("the tenant was asked for a denied user: %+v", st)
	}
	if !strings.Contains(s.logs.String(), "event=access_denied") {
		t.Error("no access_denied event in the log")
	}
}

func TestAccessTokenOwedSecondFactor(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant), withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP}, IssuerName: "Analytics"}))
	b := webtest.NewBrowser()
	s.signInOwing(t, b, "/mfa/enrol")
	p, body := s.askAccessToken(t, b, "cloud", s.srv.URL, true)
	if p.Status != http.StatusUnauthorized || body["error"] != "not_signed_in" {
		t.Fatalf("with a factor owed: %d %v, want 401 not_signed_in", p.Status, body)
	}
	if st := tenant.OAuthStats(); st.TokensIssued != 0 || st.TokenRequestsFailed != 0 {
		t.Errorf("the tenant was asked for a session that owes a factor: %+v", st)
	}
}

// TestAccessTokenUnknownUserWithoutAdmin: without an admin client a user
// the tenant does not know gets a clear refusal, and qlikgate tries no
// user creation.
func TestAccessTokenUnknownUserWithoutAdmin(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloudSetup(&tenant, cloudSetup{noAdmin: true}))
	b := webtest.NewBrowser()
	s.signIn(t, b)
	p, body := s.askAccessToken(t, b, "cloud", s.srv.URL, true)
	if p.Status != http.StatusBadGateway || body["error"] != "qlik_refused" {
		t.Fatalf("unknown user: %d %v, want 502 qlik_refused", p.Status, body)
	}
	if st := tenant.OAuthStats(); st.UsersCreatedByAPI != 0 || st.TokenRequestsFailed != 1 {
		t.Errorf("tenant stats %+v", st)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "event=access_token_failed") || !strings.Contains(logs, "user not found") {
		t.Errorf("the failure is not logged with the tenant's reason:\n%s", logs)
	}
}

func TestAccessTokenThrottled(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant))
	b := webtest.NewBrowser()
	s.signIn(t, b)
	for i := range 60 {
		if p, body := s.askAccessToken(t, b, "cloud", s.srv.URL, true); p.Status != http.StatusOK {
			t.Fatalf("request %d: %d %v, want 200", i+1, p.Status, body)
		}
	}
	before := tenant.OAuthStats()
	p, body := s.askAccessToken(t, b, "cloud", s.srv.URL, true)
	if p.Status != http.StatusTooManyRequests || body["error"] != "too_many_requests" || p.Header.Get("Retry-After") == "" {
		t.Fatalf("61st request in a minute: %d %v, want 429 with Retry-After", p.Status, body)
	}
	if after := tenant.OAuthStats(); after != before {
		t.Error("a throttled request reached the tenant")
	}
	if !strings.Contains(s.logs.String(), "event=access_token_throttled") {
		t.Error("no access_token_throttled event in the log")
	}
	// Tickets are counted apart: alice's token requests leave her tickets alone.
	if p, body := s.askTicket(t, b, "sense", s.srv.URL, true); p.Status != http.StatusOK {
		t.Errorf("a ticket after the token limit: %d %v", p.Status, body)
	}
	s.clock.Advance(61 * time.Second)
	if p, body := s.askAccessToken(t, b, "cloud", s.srv.URL, true); p.Status != http.StatusOK {
		t.Fatalf("a minute later: %d %v, want 200", p.Status, body)
	}
}
