package web_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloud"
	"github.com/qlikgate/qlikgate/qlik/cloudoidc"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

const oidcSecret = "an-oidc-client-secret-of-32-characters!"

// withCloudOIDC adds a target "cloudoidc" whose tenant is a qliksim tenant
// with qlikgate as its interactive identity provider. The tenant learns
// the issuer once the stack runs: call oidcTenant.connect.
func withCloudOIDC(tenant **qliksim.Cloud, mutate ...func(*cloudoidc.Config)) option {
	return withCloudOIDCEmbed(tenant, false, mutate...)
}

// withCloudOIDCEmbed is withCloudOIDC whose tenant, when embed is set, has
// the qlik-embed OAuth clients (as withCloud's) and whose target uses them.
func withCloudOIDCEmbed(tenant **qliksim.Cloud, embed bool, mutate ...func(*cloudoidc.Config)) option {
	return withTarget(func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target {
		priv, _, err := cloud.GenerateKey(cloud.RS256)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "oidc.pem")
		if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
			t.Fatal(err)
		}
		opts := qliksim.CloudOptions{Logf: t.Logf}
		if embed {
			opts.OAuthClients = []qliksim.CloudOAuthClient{
				{ID: embedClientID, Secret: embedClientSecret, GrantTypes: []string{qliksim.CloudGrantClientCredentials, qliksim.CloudGrantImpersonation},
					Scopes: []string{qliksim.CloudScopeUserDefault}},
				{ID: adminClientID, Secret: adminClientSecret, GrantTypes: []string{qliksim.CloudGrantClientCredentials},
					Scopes: []string{qliksim.CloudScopeAdminClassic}},
			}
		}
		sim, err := qliksim.NewCloud(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		*tenant = sim
		cfg := cloudoidc.NewConfig()
		cfg.TenantURL, cfg.ClientID, cfg.ClientSecret = sim.URL(), "qlik-cloud", oidcSecret
		cfg.SigningKeyFiles = []string{keyFile}
		cfg.PostLogoutRedirectURIs = []string{sim.URL() + "/"}
		if embed {
			cfg.CAFile = filepath.Join(t.TempDir(), "tenant-ca.pem")
			if err := os.WriteFile(cfg.CAFile, sim.PKI().RootPEM(), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg.Embed.OAuthClientID, cfg.Embed.OAuthClientSecret = embedClientID, embedClientSecret
			cfg.Embed.AdminClientID, cfg.Embed.AdminClientSecret = adminClientID, adminClientSecret
		}
		for _, m := range mutate {
			m(cfg)
		}
		tgt, err := cloudoidc.Open(context.Background(), qlik.Common{ID: "cloudoidc", Kind: "cloud-oidc"}, cfg, qlik.Env{PublicURL: publicURL, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		return tgt
	})
}

// connectTenant points the tenant at qlikgate's provider.
func connectTenant(t *testing.T, s *stack, tenant *qliksim.Cloud, o qliksim.CloudOIDC) {
	t.Helper()
	o.Issuer = s.srv.URL + "/t/cloudoidc"
	o.ClientID, o.ClientSecret = "qlik-cloud", oidcSecret
	o.RootCAs = s.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	if err := tenant.SetOIDC(o); err != nil {
		t.Fatal(err)
	}
}

// tenantBrowser trusts the tenant's and qlikgate's certificates.
func tenantBrowser(s *stack, tenant *qliksim.Cloud) *webtest.Browser {
	pool := tenant.PKI().CertPool()
	pool.AddCert(s.srv.Certificate())
	jar, _ := cookiejar.New(nil)
	return &webtest.Browser{Client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
}

func TestCloudOIDCLoginSSOAndLogout(t *testing.T) {
	for _, tc := range []struct {
		name string
		rp   qliksim.CloudOIDC
	}{
		{"basic+userinfo", qliksim.CloudOIDC{}},
		{"post+pkce+idtoken", qliksim.CloudOIDC{AuthStyle: "post", PKCE: true, UseIDTokenClaims: true}},
		{"rs512", qliksim.CloudOIDC{SignatureAlg: "RS512", PKCE: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tenant *qliksim.Cloud
			alg := "RS256"
			if tc.rp.SignatureAlg != "" {
				alg = tc.rp.SignatureAlg
			}
			s := newStack(t, withHTTPS(), withCloudOIDC(&tenant, func(c *cloudoidc.Config) { c.SigningAlgorithm = alg }))
			connectTenant(t, s, tenant, tc.rp)
			b := tenantBrowser(s, tenant)

			// The tenant sends an anonymous browser to qlikgate's provider.
			login := b.MustGet(t, tenant.URL()+"/hub/spaces")
			if !login.IsLoginPage() || !strings.HasPrefix(login.URL.String(), s.srv.URL+"/t/cloudoidc/") {
				t.Fatalf("entry: %d %s\n%s", login.Status, login.URL, login.Body)
			}
			hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
			if hub.Status != http.StatusOK || !strings.HasPrefix(hub.URL.String(), tenant.URL()+"/hub/spaces") {
				t.Fatalf("after login: %d %s\n%s\nlast RP error: %s", hub.Status, hub.URL, hub.Body, tenant.OIDCStats().LastError)
			}
			u, ok := tenant.User("alice")
			if !ok || u.Name != "Alice" || u.Email != "alice@example.org" || strings.Join(u.Groups, ",") != "Sales,EU" {
				t.Fatalf("tenant user = %+v, %v", u, ok)
			}
			// Single sign-on: a second tenant session (another app) needs no login.
			b2 := tenantBrowser(s, tenant)
			b2.Client.Jar = b.Client.Jar
			for _, ck := range b.Client.Jar.Cookies(mustURL(t, tenant.URL())) {
				if strings.HasPrefix(ck.Name, "eas.sid") {
					b.Client.Jar.SetCookies(mustURL(t, tenant.URL()), []*http.Cookie{{Name: ck.Name, Value: "", MaxAge: -1, Path: "/"}})
				}
			}
			again := b.MustGet(t, tenant.URL()+"/hub/apps")
			if again.Status != http.StatusOK || !strings.Contains(again.Body, `id="user">alice<`) {
				t.Fatalf("single sign-on: %d %s\n%s", again.Status, again.URL, again.Body)
			}
			if st := tenant.OIDCStats(); st.Logins != 2 || st.Rejected != 0 {
				t.Errorf("RP stats = %+v, want two logins", st)
			}
			// Logout at the tenant: its session ends, end-session sends the
			// signed-in browser to qlikgate's sign-out, which ends qlikgate's.
			before := tenant.SessionCount()
			out := b.MustPostForm(t, tenant.URL()+"/logout", nil)
			if out.Status != http.StatusOK || !strings.Contains(out.URL.Path, "/t/cloudoidc/logout") {
				t.Fatalf("tenant logout: %d %s\n%s", out.Status, out.URL, out.Body)
			}
			if tenant.SessionCount() != before-1 {
				t.Errorf("tenant sessions = %d after logout", tenant.SessionCount())
			}
			done := b.MustPostForm(t, s.srv.URL+"/t/cloudoidc/logout", url.Values{"csrf": {csrfOf(t, out)}})
			if done.Status != http.StatusOK {
				t.Fatalf("qlikgate logout: %d %s\n%s", done.Status, done.URL, done.Body)
			}
			// Both ends signed out: the hub leads to the login page again.
			if p := b.MustGet(t, tenant.URL()+"/hub/"); !p.IsLoginPage() {
				t.Fatalf("after logout the hub gave %d %s\n%s", p.Status, p.URL, p.Body)
			}
			logs := s.logs.String()
			for _, secret := range []string{oidcSecret, "alicepw"} {
				if strings.Contains(logs, secret) {
					t.Errorf("%q appears in qlikgate's log", secret)
				}
			}
		})
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestCloudOIDCTokenEndpointThrottled: refused token requests from one
// address are counted; past the limit the endpoint answers 429 even with
// the right secret, and successful ones are not counted.
func TestCloudOIDCTokenEndpointThrottled(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withHTTPS(), withCloudOIDC(&tenant))
	client := s.srv.Client()
	post := func(secret string) int {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"no-such-code"}, "redirect_uri": {tenant.URL() + "/login/callback"}}
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/t/cloudoidc/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("qlik-cloud", secret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 50 {
		if st := post("wrong-secret-wrong-secret-wrong-secret"); st != http.StatusUnauthorized && st != http.StatusBadRequest {
			t.Fatalf("refusal #%d: %d", i+1, st)
		}
	}
	if st := post(oidcSecret); st != http.StatusTooManyRequests {
		t.Fatalf("after 50 refusals: %d, want 429", st)
	}
	if !strings.Contains(s.logs.String(), "reason=throttled") {
		t.Error("the throttling is not logged")
	}
}

// TestCloudOIDCAccessToken: qlik-embed tokens from a cloud-oidc target. A
// user who signed in to the tenant through qlikgate's OpenID provider is
// known there by the ID token's sub, and the impersonation asks for that
// same subject: her token acts as her and no user is created. A user who
// never signed in to the tenant is created at the first embed, as with the
// JWT kind.
func TestCloudOIDCAccessToken(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withHTTPS(), withCloudOIDCEmbed(&tenant, true))
	connectTenant(t, s, tenant, qliksim.CloudOIDC{PKCE: true})
	b := tenantBrowser(s, tenant)
	login := b.MustGet(t, tenant.URL()+"/hub/spaces")
	if !login.IsLoginPage() {
		t.Fatalf("entry: %d %s", login.Status, login.URL)
	}
	if hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); !strings.HasPrefix(hub.URL.String(), tenant.URL()+"/hub/") {
		t.Fatalf("after login: %d %s", hub.Status, hub.URL)
	}
	p, body := s.askAccessToken(t, b, "cloudoidc", s.srv.URL, true)
	tok, _ := body["access_token"].(string)
	if p.Status != http.StatusOK || tok == "" {
		t.Fatalf("access token: %d %v", p.Status, body)
	}
	if who, status := tenantMe(t, tenant, tok); who != "alice" {
		t.Fatalf("the tenant API with alice's token: %q (%d)", who, status)
	}
	if st := tenant.OAuthStats(); st.UsersCreatedByAPI != 0 || st.ImpersonationTokens != 1 {
		t.Errorf("tenant stats %+v: the OIDC login's user should be the one impersonated, none created", st)
	}

	// bob signs in on qlikgate only: the tenant learns him at his first embed.
	b2 := tenantBrowser(s, tenant)
	page := b2.MustGet(t, s.srv.URL+"/login")
	b2.MustPostForm(t, s.srv.URL+"/login", page.MustLoginForm(t, "bob", "bobpw"))
	p, body = s.askAccessToken(t, b2, "cloudoidc", s.srv.URL, true)
	bobTok, _ := body["access_token"].(string)
	if p.Status != http.StatusOK || bobTok == "" || bobTok == tok {
		t.Fatalf("bob's access token: %d %v", p.Status, body)
	}
	if who, _ := tenantMe(t, tenant, bobTok); who != "bob" {
		t.Fatalf("bob's token acts as %q", who)
	}
	if st := tenant.OAuthStats(); st.UsersCreatedByAPI != 1 {
		t.Errorf("tenant stats %+v: bob should have been created once", st)
	}
	if logs := s.logs.String(); strings.Contains(logs, tok) || strings.Contains(logs, bobTok) || strings.Contains(logs, embedClientSecret) {
		t.Error("a token or the client secret is in qlikgate's log")
	}
}
