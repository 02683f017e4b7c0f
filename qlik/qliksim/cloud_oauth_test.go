package qliksim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	embedClient  = "embed-1"
	embedSecret  = "embed-secret"
	adminClient  = "admin-1"
	adminSecret  = "admin-secret"
	embedPortal  = "https://portal.example.com"
	embedSubject = "jdoe"
)

// newOAuthSim is a tenant with an impersonation client and an admin
// client, and one user (jdoe) created by a JWT login.
func newOAuthSim(t *testing.T) (*Cloud, *fakeClock, *http.Client) {
	t.Helper()
	c, clock, _ := newCloudSim(t)
	for _, cl := range []CloudOAuthClient{
		{ID: embedClient, Secret: embedSecret, GrantTypes: []string{CloudGrantClientCredentials, CloudGrantImpersonation},
			Scopes: []string{CloudScopeUserDefault}, AllowedOrigins: []string{embedPortal}, TokenLifetime: 15 * time.Minute},
		{ID: adminClient, Secret: adminSecret, GrantTypes: []string{CloudGrantClientCredentials}, Scopes: []string{CloudScopeAdminClassic}},
	} {
		if err := c.AddOAuthClient(cl); err != nil {
			t.Fatal(err)
		}
	}
	ks := testCloudKeys(t)
	b := cloudBrowser(t, c)
	if r := cloudPostJWT(t, b, c, cloudSignToken(t, cloudRSAHeader(), cloudClaims(clock.Now(), "j1"), ks.rsa), ""); r.status != http.StatusOK {
		t.Fatalf("JWT login: %d %s", r.status, r.body)
	}
	return c, clock, b
}

func impersonationBody(subject string) map[string]any {
	return map[string]any{"client_id": embedClient, "client_secret": embedSecret, "grant_type": CloudGrantImpersonation,
		"user_lookup": map[string]string{"field": "subject", "value": subject}, "scope": CloudScopeUserDefault}
}

func postJSON(t *testing.T, cl *http.Client, u string, body any, h http.Header) response {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	return do(t, cl, http.MethodPost, u, string(raw), h)
}

func tokenOf(t *testing.T, r response) (string, time.Time) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token request: %d %s", r.status, r.body)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	if body["token_type"] != "bearer" || body["access_token"] == "" {
		t.Fatalf("token answer %v", body)
	}
	if _, has := body["expires_in"]; has {
		t.Errorf("answer has expires_in; Qlik sends expires_at only")
	}
	at, err := time.Parse(time.RFC3339Nano, body["expires_at"].(string))
	if err != nil {
		t.Fatalf("expires_at: %v", err)
	}
	return body["access_token"].(string), at
}

func TestCloudImpersonationTokenWorksAndExpires(t *testing.T) {
	c, clock, b := newOAuthSim(t)
	tok, at := tokenOf(t, postJSON(t, b, c.URL()+"/oauth/token", impersonationBody(embedSubject), nil))
	if want := clock.Now().Add(15 * time.Minute); !at.Equal(want) {
		t.Errorf("expires_at %v, want %v", at, want)
	}
	me := do(t, b, http.MethodGet, c.URL()+"/api/v1/users/me", "", http.Header{"Authorization": {"Bearer " + tok}})
	if me.status != http.StatusOK || !strings.Contains(me.body, `"subject":"jdoe"`) || !strings.Contains(me.body, `"email":"jane@example.com"`) {
		t.Fatalf("users/me: %d %s", me.status, me.body)
	}
	clock.Advance(15 * time.Minute)
	if r := do(t, b, http.MethodGet, c.URL()+"/api/v1/users/me", "", http.Header{"Authorization": {"Bearer " + tok}}); r.status != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", r.status)
	}
	// Form bodies and HTTP Basic client auth are accepted too.
	form := url.Values{"grant_type": {CloudGrantImpersonation}, "scope": {"user_default"}, "user_lookup": {`{"field":"subject","value":"jdoe"}`}}
	req := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {"Basic " + basic(embedClient, embedSecret)}}
	tokenOf(t, do(t, b, http.MethodPost, c.URL()+"/oauth/token", form.Encode(), req))
}

func basic(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "https://x/", nil)
	r.SetBasicAuth(id, secret)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func TestCloudOAuthTokenRefusals(t *testing.T) {
	c, _, b := newOAuthSim(t)
	with := func(k string, v any) map[string]any {
		m := impersonationBody(embedSubject)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		body   map[string]any
		status int
		detail string
	}{
		{"wrong secret", with("client_secret", "nope"), 401, "wrong client secret"},
		{"unknown client", with("client_id", "who"), 401, "unknown client"},
		{"no secret", with("client_secret", nil), 401, "client_secret are required"},
		{"no grant", with("grant_type", nil), 400, "grant_type is required"},
		{"grant not allowed", with("grant_type", "authorization_code"), 400, "not allowed"},
		{"no scope", with("scope", nil), 400, "user_default is required"},
		{"scope not allowed", with("scope", "user_default admin_classic"), 400, "scope admin_classic is not allowed"},
		{"no user_lookup", with("user_lookup", nil), 400, "user_lookup"},
		{"bad lookup field", with("user_lookup", map[string]string{"field": "name", "value": "x"}), 400, "subject, userId or email"},
		{"unknown user", with("user_lookup", map[string]string{"field": "subject", "value": "nobody"}), 400, "user not found"},
		{"assertion", with("client_assertion", "x.y.z"), 400, "not simulated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := postJSON(t, b, c.URL()+"/oauth/token", tt.body, nil)
			detail, status := cloudErrorOf(t, r)
			if r.status != tt.status || status != strconv.Itoa(tt.status) || !strings.Contains(detail, tt.detail) {
				t.Errorf("%d %s, want %d containing %q", r.status, r.body, tt.status, tt.detail)
			}
			if strings.Contains(r.body, "access_token") {
				t.Errorf("refusal carries a token: %s", r.body)
			}
		})
	}
	c.DisableUser(embedSubject)
	if r := postJSON(t, b, c.URL()+"/oauth/token", impersonationBody(embedSubject), nil); r.status != http.StatusForbidden {
		t.Errorf("disabled user: %d %s, want 403", r.status, r.body)
	}
	if st := c.OAuthStats(); st.TokensIssued != 0 || st.TokenRequestsFailed != 12 {
		t.Errorf("stats %+v", st)
	}
}

func TestCloudUsersAPI(t *testing.T) {
	c, _, b := newOAuthSim(t)
	cc := map[string]any{"client_id": adminClient, "client_secret": adminSecret, "grant_type": CloudGrantClientCredentials, "scope": CloudScopeAdminClassic}
	admin, _ := tokenOf(t, postJSON(t, b, c.URL()+"/oauth/token", cc, nil))
	user, _ := tokenOf(t, postJSON(t, b, c.URL()+"/oauth/token", impersonationBody(embedSubject), nil))
	newUser := map[string]any{"subject": "mmiller", "name": "Max Miller", "email": "max@example.com", "status": "active"}
	auth := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	if r := postJSON(t, b, c.URL()+"/api/v1/users", newUser, nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
	if r := postJSON(t, b, c.URL()+"/api/v1/users", newUser, auth(user)); r.status != http.StatusForbidden {
		t.Errorf("with a user's token: %d", r.status)
	}
	r := postJSON(t, b, c.URL()+"/api/v1/users", newUser, auth(admin))
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"subject":"mmiller"`) {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := postJSON(t, b, c.URL()+"/api/v1/users", newUser, auth(admin)); r.status != http.StatusConflict {
		t.Errorf("again: %d, want 409", r.status)
	}
	tok, _ := tokenOf(t, postJSON(t, b, c.URL()+"/oauth/token", impersonationBody("mmiller"), nil))
	me := do(t, b, http.MethodGet, c.URL()+"/api/v1/users/me", "", auth(tok))
	if !strings.Contains(me.body, `"subject":"mmiller"`) {
		t.Errorf("users/me of the new user: %s", me.body)
	}
	if u, _ := c.User("mmiller"); u.ID == "" {
		t.Error("no user id")
	}
	if r := do(t, b, http.MethodGet, c.URL()+"/api/v1/users/me", "", auth(admin)); r.status != http.StatusForbidden {
		t.Errorf("users/me with a client-credentials token: %d", r.status)
	}
}

// TestCloudBearerCORS: a portal listed by the token's OAuth client may
// call the API with it from the browser; any other origin may not read
// the answer.
func TestCloudBearerCORS(t *testing.T) {
	c, _, b := newOAuthSim(t)
	tok, _ := tokenOf(t, postJSON(t, b, c.URL()+"/oauth/token", impersonationBody(embedSubject), nil))
	pre := do(t, b, http.MethodOptions, c.URL()+"/api/v1/users/me", "", http.Header{"Origin": {embedPortal},
		"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"authorization"}})
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != embedPortal {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	other := do(t, b, http.MethodOptions, c.URL()+"/api/v1/users/me", "", http.Header{"Origin": {"https://evil.example"},
		"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"authorization"}})
	if other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin allowed: %v", other.header)
	}
	for origin, want := range map[string]string{embedPortal: embedPortal, "https://evil.example": ""} {
		r := do(t, b, http.MethodGet, c.URL()+"/api/v1/users/me", "", http.Header{"Origin": {origin}, "Authorization": {"Bearer " + tok}})
		if got := r.header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("GET from %s: Allow-Origin %q, want %q", origin, got, want)
		}
	}
}
