package web_test

import (
	"context"
	"crypto/tls"
	"html"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloud"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// withCloud adds a target "cloud" for a simulated tenant that trusts a
// fresh key and qlikgate's origin, with qlik-embed's OAuth clients.
func withCloud(tenant **qliksim.Cloud) option { return withCloudSetup(tenant, cloudSetup{}) }

// cloudSetup varies withCloud's tenant and target.
type cloudSetup struct {
	// now is the clock of the tenant's token expiry and of qlikgate's
	// token cache; nil: the real time.
	now func() time.Time
	// portals are the impersonation client's allowed origins.
	portals []string
	// tokenLifetime is the tenant's access token lifetime (default 6h).
	tokenLifetime time.Duration
	// noAdmin leaves out the admin client: users are not created.
	noAdmin bool
}

// The tenant's OAuth clients for qlik-embed in the tests.
const (
	embedClientID     = "qlikgate-embed"
	embedClientSecret = "embed-secret-not-logged"
	adminClientID     = "qlikgate-admin"
	adminClientSecret = "admin-secret-not-logged"
)

func withCloudSetup(tenant **qliksim.Cloud, cs cloudSetup) option {
	return withTarget(func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target {
		priv, pub, err := cloud.GenerateKey(cloud.RS256)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "jwt.pem")
		if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
			t.Fatal(err)
		}
		origin := strings.TrimSuffix(publicURL, "/")
		sim, err := qliksim.NewCloud(qliksim.CloudOptions{
			IdPs:             []qliksim.CloudIdP{{Issuer: "qlikgate.test", KeyID: "k1", PEM: pub}},
			WebIntegrationID: "wi-1",
			ValidOrigins:     []string{origin},
			LoginURL:         publicURL + "t/cloud/",
			Logf:             t.Logf,
			Now:              cs.now,
			OAuthClients: []qliksim.CloudOAuthClient{
				{ID: embedClientID, Secret: embedClientSecret, GrantTypes: []string{qliksim.CloudGrantClientCredentials, qliksim.CloudGrantImpersonation},
					Scopes: []string{qliksim.CloudScopeUserDefault}, AllowedOrigins: cs.portals, TokenLifetime: cs.tokenLifetime},
				{ID: adminClientID, Secret: adminClientSecret, GrantTypes: []string{qliksim.CloudGrantClientCredentials},
					Scopes: []string{qliksim.CloudScopeAdminClassic}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		*tenant = sim
		caFile := filepath.Join(t.TempDir(), "tenant-ca.pem")
		if err := os.WriteFile(caFile, sim.PKI().RootPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := cloud.DefaultConfig()
		cfg.TenantURL, cfg.WebIntegrationID, cfg.Issuer, cfg.KeyID, cfg.PrivateKeyFile = sim.URL(), "wi-1", "qlikgate.test", "k1", keyFile
		cfg.CAFile = caFile
		cfg.Embed.OAuthClientID, cfg.Embed.OAuthClientSecret = embedClientID, embedClientSecret
		if !cs.noAdmin {
			cfg.Embed.AdminClientID, cfg.Embed.AdminClientSecret = adminClientID, adminClientSecret
		}
		tgt, err := cloud.Open(context.Background(), qlik.Common{ID: "cloud", Kind: "cloud"}, cfg, qlik.Env{PublicURL: publicURL, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		if cs.now != nil {
			tgt.SetTokenClock(cs.now)
		}
		return tgt
	})
}

var dataAttr = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)

func TestCloudHandoffPage(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant))
	b := webtest.NewBrowser()
	// The tenant sends an anonymous browser to qlikgate with returnto.
	login := b.MustGet(t, s.srv.URL+"/t/cloud/?returnto="+url.QueryEscape(tenant.URL()+"/hub/spaces"))
	if !login.IsLoginPage() {
		t.Fatalf("entry: %d\n%s", login.Status, login.Body)
	}
	page := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="cloud-handoff"`) {
		t.Fatalf("hand-off page: %d\n%s", page.Status, page.Body)
	}
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src " + tenant.URL() + ";", "default-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(page.Body, "<script>") || strings.Contains(page.Body, " onload=") {
		t.Error("inline script on the hand-off page")
	}
	if js := b.MustGet(t, s.srv.URL+"/static/cloud.js"); js.Status != http.StatusOK || !strings.Contains(js.Body, "jwt-session") {
		t.Fatalf("cloud.js: %d", js.Status)
	}
	data := map[string]string{}
	for _, m := range dataAttr.FindAllStringSubmatch(page.Body, -1) {
		data[m[1]] = html.UnescapeString(m[2])
	}
	if data["return-to"] != tenant.URL()+"/hub/spaces" {
		t.Errorf("return-to = %q", data["return-to"])
	}

	// Do what cloud.js does, as the browser would: POST the JWT to the
	// tenant from qlikgate's origin, with credentials, then land.
	jar, _ := cookiejar.New(nil)
	tc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tenant.PKI().CertPool(), MinVersion: tls.VersionTLS12}}}
	req, _ := http.NewRequest(http.MethodPost, data["session-url"], nil)
	req.Header.Set("Authorization", "Bearer "+data["jwt"])
	req.Header.Set("Qlik-Web-Integration-ID", data["web-integration-id"])
	req.Header.Set("Origin", strings.TrimSuffix(s.srv.URL, "/"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := tc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != strings.TrimSuffix(s.srv.URL, "/") {
		t.Fatalf("jwt-session: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	hub := &webtest.Browser{Client: tc}
	if p := hub.MustGet(t, data["return-to"]); p.HubUser() != "alice" || !strings.Contains(p.Body, "Sales") {
		t.Fatalf("tenant hub after the hand-off: %d\n%s", p.Status, p.Body)
	}

	// A foreign returnto is refused before anything is signed.
	p := webtest.NewBrowser().MustGet(t, s.srv.URL+"/t/cloud/?returnto="+url.QueryEscape("https://evil.example/"))
	if p.Status != http.StatusBadRequest {
		t.Errorf("foreign returnto: %d", p.Status)
	}
}
