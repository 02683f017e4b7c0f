package web_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web"
)

// TestBrowserEmbedAccessToken: a real Chromium, with third-party cookies
// blocked, signs in to qlikgate at auth.example.com; a portal page at
// portal.example.com (another host of the same site, as a company's
// intranet portal is) fetches an access token from qlikgate with
// credentials and calls the tenant's API (a third site) with it as a
// bearer token, the way qlik-embed does, and the tenant knows the user.
// A portal on another site gets no token: qlikgate's SameSite=Lax session
// cookie does not travel with its request, and a blocked third-party
// cookie would not either.
func TestBrowserEmbedAccessToken(t *testing.T) {
	var qg, tenantURL string
	newPortal := func(host string) (*httptest.Server, string) {
		p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// The portal-side script of docs/qlik/cloud.md, reporting
			// into window.result.
			fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Portal</title><script>
window.result = "";
async function getAccessToken() {
  const r = await fetch(%q, {method: "POST", credentials: "include", headers: {"X-Qlikgate-Request": "1"}});
  const j = await r.json();
  if (!r.ok) throw new Error("qlikgate " + r.status + " " + j.error);
  return j.access_token;
}
getAccessToken()
  .then(tok => fetch(%q, {headers: {Authorization: "Bearer " + tok}}))
  .then(r => r.json().then(u => { window.result = r.status + " " + u.subject; }))
  .catch(e => { window.result = "refused " + e.message; });
</script>`, qg+"/t/cloud/access-token", tenantURL+"/api/v1/users/me")
		}))
		t.Cleanup(p.Close)
		_, port, _ := net.SplitHostPort(p.Listener.Addr().String())
		return p, "http://" + host + ":" + port
	}
	_, sameSite := newPortal("portal.example.com")
	_, otherSite := newPortal("portal.other-company.com")

	var tenant *qliksim.Cloud
	s := newStack(t,
		withWeb(func(c *web.Config) {
			c.Server.PublicURL = strings.Replace(c.Server.PublicURL, "127.0.0.1", "auth.example.com", 1)
		}),
		withCloudSetup(&tenant, cloudSetup{portals: []string{sameSite, otherSite}}),
		withEmbedOrigins("cloud", sameSite, otherSite))
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	qg, tenantURL = "http://auth.example.com:"+port, tenant.URL()

	b := startChromium(t,
		chromedp.Flag("host-resolver-rules", "MAP *.example.com 127.0.0.1, MAP *.other-company.com 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki(tenantCert(t, tenant))),
		chromedp.Flag("test-third-party-cookie-phaseout", true),
		chromedp.Flag("disable-features", "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"))
	ctx := b.tab(t, 1000, 700)
	// The hand-off to the default target (sense) lands on its hub: alice is
	// signed in to qlikgate at auth.example.com.
	chromeDo(t, ctx, chromedp.Navigate(qg+"/login"), chromeLogin("alice", "alicepw"), chromedp.WaitVisible(chromedp.ID("user")))
	chromeDo(t, ctx, chromedp.Navigate(otherSite+"/"))
	if got := chromeWait(t, ctx, "window.result"); got != "refused qlikgate 401 not_signed_in" {
		t.Errorf("a portal on another site: %q, want qlikgate's 401 (no session cookie cross-site)", got)
	}
	if st := tenant.OAuthStats(); st.TokensIssued != 0 {
		t.Errorf("the tenant issued tokens for the other site's portal: %+v", st)
	}

	chromeDo(t, ctx, chromedp.Navigate(sameSite+"/"))
	if got := chromeWait(t, ctx, "window.result"); got != "200 alice" {
		t.Fatalf("the portal's token call to the tenant: %q, want 200 alice", got)
	}
	if st := tenant.OAuthStats(); st.BearerCalls != 2 || st.ImpersonationTokens != 1 || st.UsersCreatedByAPI != 1 {
		t.Errorf("tenant stats %+v, want one user created and one impersonation, and two bearer calls (the creation, the portal's)", st)
	}
	chromeShot(t, ctx, "embed-portal")
}
