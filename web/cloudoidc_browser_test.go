package web_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web"
)

// TestBrowserCloudOIDCThirdPartyCookiesBlocked: a Chromium that blocks
// third-party cookies, with qlikgate (https://qlikgate.test), the tenant
// (https://127.0.0.1) and a portal (https://portal.test) on three sites.
// From the portal's link the user opens the tenant, signs in on qlikgate
// and lands in the tenant hub as herself (cloud-oidc: top-level redirects
// only, every cookie first-party). The JWT kind, on the same qlikgate,
// shows its explanation instead, because its tenant cookie is third-party.
func TestBrowserCloudOIDCThirdPartyCookiesBlocked(t *testing.T) {
	var oidcTenant, jwtTenant *qliksim.Cloud
	s := newStack(t, withHTTPS(),
		withWeb(func(c *web.Config) {
			c.Server.PublicURL = strings.Replace(c.Server.PublicURL, "127.0.0.1", "qlikgate.test", 1)
		}),
		withCloudOIDC(&oidcTenant), withCloud(&jwtTenant))
	pub := strings.Replace(s.srv.URL, "127.0.0.1", "qlikgate.test", 1)

	// The tenant reaches qlikgate.test by its name, over TLS it verifies.
	roots := x509.NewCertPool()
	roots.AddCert(s.srv.Certificate())
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	rpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, strings.Replace(addr, "qlikgate.test", "127.0.0.1", 1))
		},
	}}
	if err := oidcTenant.SetOIDC(qliksim.CloudOIDC{Issuer: pub + "/t/cloudoidc", ClientID: "qlik-cloud", ClientSecret: oidcSecret,
		PKCE: true, HTTPClient: rpClient}); err != nil {
		t.Fatal(err)
	}
	portal := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Portal</title></head><body>
<a id="analytics" href="%s/hub/spaces">Analytics</a> <a id="legacy" href="%s/hub/spaces">Legacy analytics</a></body></html>`,
			oidcTenant.URL(), jwtTenant.URL())
	}))
	t.Cleanup(portal.Close)
	portalURL := strings.Replace(portal.URL, "127.0.0.1", "portal.test", 1)

	trusted := strings.Join([]string{spki(tenantCert(t, oidcTenant)), spki(tenantCert(t, jwtTenant)),
		spki(s.srv.Certificate()), spki(portal.Certificate())}, ",")
	own := startChromium(t,
		chromedp.Flag("ignore-certificate-errors-spki-list", trusted),
		chromedp.Flag("host-resolver-rules", "MAP qlikgate.test 127.0.0.1, MAP portal.test 127.0.0.1"),
		chromedp.Flag("test-third-party-cookie-phaseout", true))
	for _, tt := range []struct {
		link, want string
		tenant     **qliksim.Cloud
	}{{"analytics", "hub", &oidcTenant}, {"legacy", "blocked", &jwtTenant}} {
		t.Run(tt.link, func(t *testing.T) {
			// A browser context of its own: no qlikgate session from the other
			// subtest, and the flags (cookies blocked) of the browser.
			ctx, cancel := chromedp.NewContext(own.ctx, chromedp.WithNewBrowserContext())
			t.Cleanup(cancel)
			ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
			t.Cleanup(cancelTimeout)
			chromeDo(t, ctx, chromedp.EmulateViewport(1000, 700), chromedp.Navigate(portalURL),
				chromedp.Click(chromedp.ID(tt.link)))
			chromeWait(t, ctx, `document.querySelector('input[name=password]') ? 'login' : ''`)
			loc := chromeRun(t, ctx, chromedp.Location())
			if !strings.HasPrefix(loc, pub+"/") {
				t.Fatalf("the login page is at %s, want qlikgate's site %s", loc, pub)
			}
			chromeDo(t, ctx, chromeLogin("alice", "alicepw"))
			landed := chromeWait(t, ctx, `(document.getElementById('user') && 'hub') ||
				(document.getElementById('cloud-blocked') && !document.getElementById('cloud-blocked').hidden && 'blocked') ||
				(document.getElementById('cloud-refused') && !document.getElementById('cloud-refused').hidden && 'refused') ||
				(document.getElementById('cloud-unreachable') && !document.getElementById('cloud-unreachable').hidden && 'unreachable') ||
				(document.body && document.body.innerText.includes('errors') && 'tenant error') || ''`)
			chromeShot(t, ctx, "cloudoidc-"+tt.link+"-"+landed)
			if landed != tt.want {
				t.Fatalf("landed on %q, want %q (RP: %+v)", landed, tt.want, (*tt.tenant).OIDCStats())
			}
			if landed == "hub" {
				if u := chromeText(t, ctx, "user"); u != "alice" {
					t.Errorf("tenant hub shows %q", u)
				}
				if p := chromeText(t, ctx, "path"); p != "/hub/spaces" {
					t.Errorf("landed on %s", p)
				}
			}
		})
	}
}
