package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// TestOpenIDProviderSecretsNeverLogged extends TestSecretsNeverLogged to
// the cloud-oidc provider: the client secret, the code, the ID token and
// the access token pass through qlikgate (entry, token, userinfo,
// end-session, a wrong secret, a replay) and none reaches its log.
func TestOpenIDProviderSecretsNeverLogged(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withHTTPS(), withCloudOIDC(&tenant))
	b := tenantBrowser(s, tenant)
	q := url.Values{"client_id": {"qlik-cloud"}, "redirect_uri": {tenant.URL() + "/login/callback"}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"state-secret-123"}, "nonce": {"nonce-secret-456"}}
	login := b.MustGet(t, s.srv.URL+"/t/cloudoidc/?"+q.Encode())
	p := b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code: %d %s", p.Status, p.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	client := s.srv.Client()
	post := func(secret string) (int, map[string]string) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tenant.URL() + "/login/callback"}}
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/t/cloudoidc/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("qlik-cloud", secret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]string{}
		var raw map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		for k, v := range raw {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
		return resp.StatusCode, out
	}
	if st, _ := post("a-wrong-secret-that-is-long-enough"); st != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", st)
	}
	// The wrong secret burnt the code (it was taken): a new one is needed.
	p = b.NoFollow().MustGet(t, s.srv.URL+"/t/cloudoidc/?"+q.Encode())
	loc, _ = url.Parse(p.Header.Get("Location"))
	code = loc.Query().Get("code")
	st, tok := post(oidcSecret)
	if st != http.StatusOK || tok["id_token"] == "" || tok["access_token"] == "" {
		t.Fatalf("token: %d %v", st, tok)
	}
	if st, _ := post(oidcSecret); st != http.StatusBadRequest {
		t.Fatalf("replay: %d", st)
	}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/t/cloudoidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: %d", resp.StatusCode)
	}
	b.NoFollow().MustGet(t, s.srv.URL+"/t/cloudoidc/end_session?"+url.Values{"id_token_hint": {tok["id_token"]},
		"post_logout_redirect_uri": {tenant.URL() + "/"}}.Encode())

	logs := s.logs.String()
	if !strings.Contains(logs, "event=oidc_refused") || !strings.Contains(logs, "event=handoff") {
		t.Fatalf("the log did not capture the flows:\n%s", logs)
	}
	for what, v := range map[string]string{"client secret": oidcSecret, "code": code, "id token": tok["id_token"],
		"id token signature": tok["id_token"][strings.LastIndex(tok["id_token"], ".")+1:], "access token": tok["access_token"],
		"wrong secret": "a-wrong-secret-that-is-long-enough"} {
		if strings.Contains(logs, v) {
			t.Errorf("the %s appears in the log", what)
		}
	}
}
