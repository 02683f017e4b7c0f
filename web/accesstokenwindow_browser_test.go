package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web"
)

// portalWindowScript is the portal-side script of docs/qlik/cloud.md
// (getAccessToken), reporting into window.result: on a click it opens
// qlikgate's access-token window, waits for its message from qlikgate's
// origin and calls the tenant's API with the token. windowOrigin is the
// ?origin= it names: its own origin for the portal, the real portal's for
// an attacker's page.
const portalWindowScript = `<!doctype html><html lang="en"><title>Portal</title>
<button id="connect">Connect to Qlik</button><p id="result"></p><script>
const qlikgate = %q, tenant = %q, windowOrigin = %q;
window.result = "";
function getAccessToken() {
  return new Promise((resolve, reject) => {
    const w = window.open(qlikgate + "/t/cloud/access-token/window?origin=" + encodeURIComponent(windowOrigin),
      "qlikgate-token", "popup,width=480,height=640");
    if (!w) { reject(new Error("popup blocked")); return; }
    let done = false;
    function onMessage(event) {
      if (event.origin !== qlikgate || !event.data || event.data.type !== "qlikgate:access-token") return;
      done = true;
      window.removeEventListener("message", onMessage);
      resolve(event.data);
    }
    window.addEventListener("message", onMessage);
    const poll = setInterval(() => {
      if (!w.closed) return;
      clearInterval(poll);
      // A message posted just before the window closed is still queued.
      setTimeout(() => { if (!done) reject(new Error("window closed, nothing received")); }, 1000);
    }, 100);
  });
}
document.getElementById("connect").addEventListener("click", () => {
  getAccessToken()
    .then(t => fetch(tenant + "/api/v1/users/me", {headers: {Authorization: "Bearer " + t.access_token}}))
    .then(r => r.json().then(u => { window.result = r.status + " " + u.subject; }))
    .catch(e => { window.result = "refused " + e.message; })
    .then(() => { document.getElementById("result").textContent = window.result; });
});
</script>`

// TestBrowserEmbedAccessTokenWindow: issue 15's portal on another site.
// A real Chromium blocks third-party cookies; alice signs in to qlikgate
// at auth.example.com in a tab of her own; a portal at portal.test (a
// different site from qlikgate and from the tenant) opens qlikgate's
// access-token window on a real click, receives the token by postMessage
// and calls the tenant's API with it: the tenant knows alice. The
// credentialed fetch, which needs the third-party cookie, fails on the
// same portal (TestBrowserEmbedAccessToken). A page of evil.test that
// opens the window naming portal.test as the origin gets nothing: the
// window does post, but the browser delivers only to portal.test.
func TestBrowserEmbedAccessTokenWindow(t *testing.T) {
	var qg, tenantURL, portalOrigin string
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, portalWindowScript, qg, tenantURL, portalOrigin) // the attacker names the portal too
	}))
	t.Cleanup(pages.Close)
	_, pport, _ := net.SplitHostPort(pages.Listener.Addr().String())
	portalOrigin = "http://portal.test:" + pport
	evilOrigin := "http://evil.test:" + pport

	var tenant *qliksim.Cloud
	s := newStack(t, withHTTPS(), // COOP, which the window must get past, applies only to secure pages
		withWeb(func(c *web.Config) {
			c.Server.PublicURL = strings.Replace(c.Server.PublicURL, "127.0.0.1", "auth.example.com", 1)
		}),
		withCloudSetup(&tenant, cloudSetup{portals: []string{portalOrigin, evilOrigin}}),
		withEmbedOrigins("cloud", portalOrigin))
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	qg, tenantURL = "https://auth.example.com:"+port, tenant.URL()

	b := startChromium(t,
		chromedp.Flag("host-resolver-rules", "MAP *.example.com 127.0.0.1, MAP *.test 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki(tenantCert(t, tenant))+","+spki(s.srv.Certificate())),
		chromedp.Flag("test-third-party-cookie-phaseout", true),
		chromedp.Flag("disable-features", "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"))
	ctx := b.tab(t, 1000, 700)
	// First party: alice signs in at qlikgate (the default target's hub).
	chromeDo(t, ctx, chromedp.Navigate(qg+"/login"), chromeLogin("alice", "alicepw"), chromedp.WaitVisible(chromedp.ID("user")))

	// The attacker's page: the window posts, the browser drops it.
	chromeDo(t, ctx, chromedp.Navigate(evilOrigin+"/"), chromedp.WaitVisible(chromedp.ID("connect")), chromedp.Click(chromedp.ID("connect")))
	if got := chromeWait(t, ctx, "window.result"); got != "refused window closed, nothing received" {
		t.Fatalf("the attacker's page: %q, want nothing delivered", got)
	}
	if !strings.Contains(s.logs.String(), "event=access_token_issued") {
		t.Fatal("the window did not issue a token for the attacker's opener: the refusal above proves nothing")
	}

	// The same portal's credentialed fetch: qlikgate's session cookie is
	// SameSite=Lax and, cross-site, a blocked third-party cookie, so
	// qlikgate sees no session.
	chromeDo(t, ctx, chromedp.Navigate(portalOrigin+"/"), chromedp.WaitVisible(chromedp.ID("connect")))
	chromeRun(t, ctx, chromedp.Evaluate[string](`fetch(`+"`"+`${qlikgate}/t/cloud/access-token`+"`"+`, {method: "POST", credentials: "include", headers: {"X-Qlikgate-Request": "1"}})
  .then(r => { window.fetched = String(r.status); }, e => { window.fetched = "failed " + e.message; }), ""`))
	if got := chromeWait(t, ctx, "window.fetched"); got != "401" {
		t.Errorf("the portal's credentialed fetch: %q, want 401 (no third-party cookie)", got)
	}

	chromeDo(t, ctx, chromedp.Click(chromedp.ID("connect")))
	if got := chromeWait(t, ctx, "window.result"); got != "200 alice" {
		t.Fatalf("the portal's token call to the tenant: %q, want 200 alice", got)
	}
	if st := tenant.OAuthStats(); st.ImpersonationTokens != 1 || st.UsersCreatedByAPI != 1 {
		t.Errorf("tenant stats %+v, want one user created and one impersonation (the second window served from the cache)", st)
	}
	chromeShot(t, ctx, "embed-portal-window")

	// Typed in, without an opener: the window says so, and nothing is posted.
	chromeDo(t, ctx, chromedp.Navigate(qg+"/t/cloud/access-token/window?origin="+portalOrigin), chromedp.WaitVisible(chromedp.ID("access-token-no-opener")))
	if got := chromeText(t, ctx, "access-token-no-opener"); !strings.Contains(got, "must be opened from the page that uses Qlik") {
		t.Errorf("without an opener: %q", got)
	}
	if left := chromeRun(t, ctx, chromedp.Evaluate[string](`document.getElementById("access-token-window").dataset.token || ""`)); left != "" {
		t.Error("the token stays in the page's DOM")
	}
	chromeCheckAccessibility(t, ctx, chromeAxe(t), "access-token window")

	// Not signed in yet (a fresh browser context): the window goes through
	// qlikgate's login in the popup and still reaches its opener.
	fresh := b.tab(t, 1000, 700)
	chromeDo(t, fresh, chromedp.Navigate(portalOrigin+"/"), chromedp.WaitVisible(chromedp.ID("connect")))
	opened := chromedp.WaitNewTarget(fresh, func(*target.Info) bool { return true })
	chromeDo(t, fresh, chromedp.Click(chromedp.ID("connect")))
	var popup context.Context
	select {
	case id, ok := <-opened:
		if !ok {
			t.Fatal("no popup target")
		}
		var cancel context.CancelFunc
		popup, cancel = chromedp.NewContext(fresh, chromedp.WithTargetID(id))
		defer cancel()
	case <-time.After(10 * time.Second):
		t.Fatal("the click opened no window")
	}
	chromeDo(t, popup, chromeLogin("alice", "alicepw"))
	if got := chromeWait(t, fresh, "window.result"); got != "200 alice" {
		t.Fatalf("after signing in in the window: %q, want 200 alice", got)
	}
}
