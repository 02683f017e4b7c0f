package web_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/qlikview"
	"github.com/qlikgate/qlikgate/web"
)

// TestBrowser is the browser suite: one headless Chromium for all of it
// (see browser_helpers_test.go), one subtest per user journey. Each saves
// screenshots into test-output/.
func TestBrowser(t *testing.T) {
	b := startChromium(t)
	for _, tt := range []struct {
		name string
		test func(*testing.T, *chromeBrowser)
	}{
		{"TicketLogin", browserTicketLogin},
		{"SessionLogin", browserSessionLogin},
		{"QlikViewLogin", browserQlikViewLogin},
		{"CloudHandoff", browserCloudHandoff},
		{"OIDCLogin", browserOIDCLogin},
		{"WrongPassword", browserWrongPassword},
		{"Logout", browserLogout},
		{"Languages", browserLanguages},
		{"KeyboardOnly", browserKeyboardOnly},
		{"Viewports", browserViewports},
		{"Accessibility", browserAccessibility},
		{"Framing", browserFraming},
		{"PasswordChange", browserPasswordChange},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, b) })
	}
}

// chromeLogin types the credentials into the login page and submits it
// with the mouse.
func chromeLogin(username, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("submit")),
	)
}

// browserTicketLogin: the hub sends Chromium to the login page, the
// user signs in and lands on the page first asked for with a ticket.
func browserTicketLogin(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 700)
	s := newStack(t)
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()+"stream/42"), chromedp.WaitVisible(chromedp.ID("username")))
	png := chromeShot(t, ctx, "login")
	if os.Getenv("QLIKGATE_UPDATE_DOCS") == "1" && png != nil {
		if err := os.WriteFile(filepath.Join("..", "docs", "login.png"), png, 0o644); err != nil {
			t.Error(err)
		}
	}
	if title := chromeRun(t, ctx, chromedp.Title()); title != "Sign in · Qlik sign-in" {
		t.Errorf("title %q", title)
	}
	chromeDo(t, ctx, chromeLogin("alice", "alicepw"), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `CORP\alice` {
		t.Errorf("hub shows %q", u)
	}
	if loc, _ := url.Parse(chromeRun(t, ctx, chromedp.Location())); loc.Path != "/hr/hub/stream/42" {
		t.Errorf("landed on %s, want the page first asked for", loc)
	}
	chromeShot(t, ctx, "hub")
}

// browserSessionLogin: with the session API the browser gets the
// proxy's session cookie from qlikgate and the hub accepts it.
func browserSessionLogin(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 700)
	s := newStack(t)
	s.sim.SetModuleURL(s.srv.URL + "/t/session/")
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromeLogin("alice", "alicepw"), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `CORP\alice` {
		t.Errorf("hub shows %q", u)
	}
	cookies := chromeRun(t, ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{s.sim.HubURL()}})
	})
	var found bool
	for _, c := range cookies.Cookies {
		if c.Name == s.sim.CookieName() {
			found = true
			if sd, ok := s.sim.Session(c.Value); !ok || sd.UserId != "alice" {
				t.Errorf("the cookie names no QPS session of alice: %+v", sd)
			}
		}
	}
	if !found {
		t.Errorf("the browser has no %s cookie for the hub", s.sim.CookieName())
	}
	if st := s.sim.Stats(); st.SessionsCreated != 1 || st.TicketsIssued != 0 {
		t.Errorf("stats %+v", st)
	}
	chromeShot(t, ctx, "hub")
}

// withAccessPoint adds a qlikview target "qv" for a simulated QlikView
// server that trusts 127.0.0.1 and sends anonymous browsers to qlikgate.
func withAccessPoint(sim **qliksim.QlikView) option {
	return withTarget(func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target {
		pu, _ := url.Parse(publicURL)
		qv, err := qliksim.NewQlikView(qliksim.QlikViewOptions{
			TrustedIPs: []string{"127.0.0.1"}, SafeForwardHosts: []string{pu.Host}, LoginURL: publicURL + "t/qv/", Logf: t.Logf,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(qv.Close)
		*sim = qv
		cfg := qlikview.DefaultConfig()
		cfg.WebTicketURL = qv.WebTicketURL()
		tg, err := qlikview.Open(context.Background(), qlik.Common{ID: "qv", Kind: "qlikview"}, cfg, qlik.Env{PublicURL: publicURL, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		return tg
	})
}

// browserQlikViewLogin: AccessPoint sends Chromium to qlikgate, which
// hands the user to QlikView with a web ticket.
func browserQlikViewLogin(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 700)
	var qv *qliksim.QlikView
	newStack(t, withAccessPoint(&qv))
	chromeDo(t, ctx, chromedp.Navigate(qv.AccessPointURL()), chromeLogin("alice", "alicepw"), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `CORP\alice` {
		t.Errorf("AccessPoint shows %q", u)
	}
	if st := qv.Stats(); st.TicketsIssued != 1 || st.TicketsConsumed != 1 {
		t.Errorf("stats %+v", st)
	}
	chromeShot(t, ctx, "accesspoint")
}

// spki is the base64 SHA-256 of a certificate's public key, for
// Chromium's --ignore-certificate-errors-spki-list: the browser then
// trusts exactly these certificates, not every certificate.
func spki(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// tenantCert is the simulated tenant's server certificate.
func tenantCert(t *testing.T, tenant *qliksim.Cloud) *x509.Certificate {
	t.Helper()
	u, _ := url.Parse(tenant.URL())
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: tenant.PKI().CertPool(), ServerName: u.Hostname()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// browserCloudHandoff: Chromium runs cloud.js on the hand-off page against
// the simulated tenant (https://127.0.0.1:…). With qlikgate on the same
// site (https://127.0.0.1:…, as with a tenant custom domain next to
// qlikgate) the user lands on the tenant signed in. With qlikgate on plain
// http the two are different sites, the tenant's session cookie is a
// third-party cookie, and where the browser blocks it (Chromium here does)
// the page must explain it instead of looping.
func browserCloudHandoff(t *testing.T, _ *chromeBrowser) {
	for _, tt := range []struct {
		name  string
		https bool
		want  []string
	}{{"same site", true, []string{"hub"}}, {"cross site", false, []string{"hub", "blocked"}}} {
		t.Run(tt.name, func(t *testing.T) {
			var tenant *qliksim.Cloud
			opts := []option{withCloud(&tenant)}
			if tt.https {
				opts = append(opts, withHTTPS())
			}
			s := newStack(t, opts...)
			trusted := spki(tenantCert(t, tenant))
			if tt.https {
				trusted += "," + spki(s.srv.Certificate())
			}
			// A browser of its own, which trusts these certificates and no
			// other, with its own profile (no fresh browser context), as a
			// user has.
			own := startChromium(t, chromedp.Flag("ignore-certificate-errors-spki-list", trusted))
			ctx, cancel := chromedp.NewContext(own.ctx)
			t.Cleanup(cancel)
			ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
			t.Cleanup(cancelTimeout)

			chromeDo(t, ctx, chromedp.EmulateViewport(1000, 700), chromedp.Navigate(tenant.URL()+"/hub/spaces"), chromeLogin("alice", "alicepw"))
			// cloud.js navigates away by itself: wait across that navigation.
			landed := chromeWait(t, ctx, `(document.getElementById('user') && 'hub') ||
				(document.getElementById('cloud-blocked') && !document.getElementById('cloud-blocked').hidden && 'blocked') ||
				(document.getElementById('cloud-refused') && !document.getElementById('cloud-refused').hidden && 'refused') ||
				(document.getElementById('cloud-unreachable') && !document.getElementById('cloud-unreachable').hidden && 'unreachable') || ''`)
			chromeShot(t, ctx, landed)
			if !slices.Contains(tt.want, landed) {
				t.Fatalf("the hand-off ended with %s, want %v", landed, tt.want)
			}
			if st := tenant.Stats(); st.Logins != 1 {
				t.Errorf("the tenant did not accept the token once: %+v", st)
			}
			switch landed {
			case "hub":
				if u := chromeText(t, ctx, "user"); u != "alice" {
					t.Errorf("tenant hub shows %q", u)
				}
				if p := chromeText(t, ctx, "path"); p != "/hub/spaces" {
					t.Errorf("landed on %s, want the page the tenant was asked for", p)
				}
			case "blocked":
				t.Logf("this Chromium blocks the tenant's cookie as a third-party cookie; the page says: %s", chromeText(t, ctx, "cloud-blocked"))
				if h := chromeText(t, ctx, "cloud-heading"); h != "Could not sign you in to Qlik Cloud" {
					t.Errorf("heading %q", h)
				}
			}
		})
	}
}

// browserOIDCLogin: the button leads to the identity provider's own
// login page and back, signed in.
func browserOIDCLogin(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 700)
	op := oidctest.Start(t)
	s := newStack(t, withOIDC(op, nil))
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromedp.WaitVisible(chromedp.ID("provider-idp")))
	chromeShot(t, ctx, "login")
	chromeDo(t, ctx,
		chromedp.Click(chromedp.ID("provider-idp")),
		chromedp.WaitVisible(chromedp.ID("username")), // the identity provider's own page
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alicepass"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
	chromeDo(t, ctx, chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `OIDC\alice` {
		t.Errorf("hub shows %q", u)
	}
}

// browserWrongPassword: the refusal is announced (role=alert), the
// fields are marked invalid and the username is kept.
func browserWrongPassword(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 700)
	s := newStack(t)
	chromeDo(t, ctx, chromedp.Navigate(s.srv.URL+"/"), chromeLogin("alice", "wrong"), chromedp.WaitVisible(chromedp.ID("message")))
	if m := chromeText(t, ctx, "message"); m != "The username or password is incorrect." {
		t.Errorf("message %q", m)
	}
	state := chromeRun(t, ctx, chromedp.Evaluate[string](`[
		document.getElementById('message').closest('[role=alert]') !== null,
		document.getElementById('password').getAttribute('aria-invalid'),
		document.getElementById('username').value,
		document.activeElement.id].join(' ')`))
	if state != "true true alice password" {
		t.Errorf("alert, aria-invalid, username, focus = %q, want \"true true alice password\"", state)
	}
	chromeShot(t, ctx, "refused")
}

// browserLogout: after logout the hub leads to the login page again.
func browserLogout(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 700)
	s := newStack(t)
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromeLogin("alice", "alicepw"), chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.Navigate(s.srv.URL+"/logout"), chromedp.WaitVisible(chromedp.ID("logout")))
	chromeShot(t, ctx, "confirm")
	chromeDo(t, ctx, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("message")))
	if h := chromeRun(t, ctx, chromedp.Text(chromedp.CSS("h1"))); h != "You are signed out" {
		t.Errorf("heading %q", h)
	}
	chromeShot(t, ctx, "signedout")
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromedp.WaitVisible(chromedp.ID("username")))
}

// browserLanguages: the page speaks the browser's language.
func browserLanguages(t *testing.T, b *chromeBrowser) {
	s := newStack(t)
	for _, tt := range []struct{ accept, lang, heading, submit string }{
		{"de-DE,de;q=0.9,en;q=0.5", "de", "Anmelden", "Anmelden"},
		{"fr-FR,fr;q=0.9", "fr", "Connexion", "Se connecter"},
		{"es-ES,es;q=0.9", "es", "Iniciar sesión", "Iniciar sesión"},
		{"sv-SE,sv;q=0.9", "sv", "Logga in", "Logga in"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			ctx := b.tab(t, 1000, 700)
			chromeDo(t, ctx, acceptLanguage(tt.accept), chromedp.Navigate(s.srv.URL+"/"), chromeLogin("alice", "wrong"), chromedp.WaitVisible(chromedp.ID("message")))
			got := chromeRun(t, ctx, chromedp.Evaluate[string](`[document.documentElement.lang, document.querySelector('h1').textContent, document.getElementById('submit').textContent].join('|')`))
			if want := tt.lang + "|" + tt.heading + "|" + tt.submit; got != want {
				t.Errorf("lang|heading|button = %q, want %q", got, want)
			}
			if m := chromeText(t, ctx, "message"); m == "The username or password is incorrect." || m == "" {
				t.Errorf("message %q is not translated", m)
			}
			chromeShot(t, ctx, "refused")
		})
	}
}

// browserKeyboardOnly: a user without a mouse signs in with Tab and
// Enter, sees where the focus is, here under a path prefix.
func browserKeyboardOnly(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 700)
	const prefix = "/qlik/auth/"
	s := newStack(t, withPrefix(prefix))
	s.sim.SetModuleURL(s.srv.URL + prefix)
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromedp.WaitVisible(chromedp.ID("username")))
	focus := func() string {
		return chromeRun(t, ctx, chromedp.Evaluate[string](`document.activeElement.id + ' ' + getComputedStyle(document.activeElement).outlineStyle`))
	}
	if f := focus(); f != "username solid" {
		t.Errorf("focus at the start: %q, want the username field with a visible outline", f)
	}
	chromeDo(t, ctx, chromedp.KeyEvent("alice"), chromedp.KeyEvent(kb.Tab))
	if f := focus(); f != "password solid" {
		t.Errorf("after Tab: %q", f)
	}
	chromeDo(t, ctx, chromedp.KeyEvent("alicepw"), chromedp.KeyEvent(kb.Tab))
	if f := focus(); f != "submit solid" {
		t.Errorf("after the second Tab: %q", f)
	}
	chromeShot(t, ctx, "focus-on-button")
	chromeDo(t, ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, ctx, "user"); u != `CORP\alice` {
		t.Errorf("hub shows %q", u)
	}
}

// browserViewports: nothing scrolls sideways at 320 px, even with a
// long German message, and the form stays a readable column at 1920 px.
func browserViewports(t *testing.T, b *chromeBrowser) {
	op := oidctest.Start(t)
	s := newStack(t, withOIDC(op, nil), withWeb(func(c *web.Config) {
		c.UI.FooterText, c.UI.HelpURL = "Anmeldedienst der Beispielgesellschaft für Datenverarbeitungsdienstleistungen", "https://help.example.com/"
	}))
	for _, tt := range []struct {
		width, height int64
		lang          string
	}{{320, 640, "de"}, {320, 640, "en"}, {1920, 1080, "en"}} {
		t.Run(fmt.Sprintf("%d-%s", tt.width, tt.lang), func(t *testing.T) {
			ctx := b.tab(t, tt.width, tt.height)
			chromeDo(t, ctx, acceptLanguage(tt.lang), chromedp.Navigate(s.srv.URL+"/"), chromeLogin("alice", "wrong"), chromedp.WaitVisible(chromedp.ID("message")))
			m := chromeRun(t, ctx, chromedp.Evaluate[[]float64](`[document.documentElement.scrollWidth, document.documentElement.clientWidth,
				document.querySelector('.card').getBoundingClientRect().width, document.getElementById('submit').getBoundingClientRect().height]`))
			scroll, client, card, button := m[0], m[1], m[2], m[3]
			if scroll > client {
				t.Errorf("horizontal scroll: content %v px wide in a %v px window", scroll, client)
			}
			if tt.width == 320 && card != client {
				t.Errorf("the card is %v px wide in a %v px window, want all of it", card, client)
			}
			if tt.width == 1920 && (card > 480 || card < 320) {
				t.Errorf("the card is %v px wide at 1920 px", card)
			}
			if button < 44 {
				t.Errorf("the button is %v px high: too small a target", button)
			}
			chromeShot(t, ctx, "refused")
		})
	}
}

// browserAccessibility runs axe-core on the login page (with both
// kinds of provider and after a refusal), the error and the signed-out page.
func browserAccessibility(t *testing.T, b *chromeBrowser) {
	axe := chromeAxe(t)
	ctx := b.tab(t, 1000, 700)
	op := oidctest.Start(t)
	s := newStack(t, withOIDC(op, nil))
	dark := newStack(t, withWeb(func(c *web.Config) { c.UI.PrimaryColor, c.UI.HelpURL = "#ffd500", "https://help.example.com/" }))

	// First prove that the check can fail: axe must find the faults of a
	// page without language, title and label.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><body><input id="x"><p style="color:#aaa;background:#fff">faint</p></body></html>`)
	}))
	t.Cleanup(bad.Close)
	chromeDo(t, ctx, chromedp.Navigate(bad.URL))
	found := map[string]bool{}
	for _, v := range chromeAxeRun(t, ctx, axe) {
		found[v.ID] = true
	}
	for _, want := range []string{"html-has-lang", "document-title", "label", "color-contrast"} {
		if !found[want] {
			t.Errorf("axe did not report %s on a faulty page (found %v): the check is not working", want, found)
		}
	}
	for _, p := range []struct {
		name  string
		steps []chromedp.Action[chromedp.Void]
	}{
		{"login", []chromedp.Action[chromedp.Void]{chromedp.Navigate(s.srv.URL + "/"), chromedp.WaitVisible(chromedp.ID("username"))}},
		{"login refused", []chromedp.Action[chromedp.Void]{chromeLogin("alice", "wrong"), chromedp.WaitVisible(chromedp.ID("message"))}},
		{"login with a light primary colour", []chromedp.Action[chromedp.Void]{chromedp.Navigate(dark.srv.URL + "/"), chromedp.WaitVisible(chromedp.ID("username"))}},
		{"error", []chromedp.Action[chromedp.Void]{chromedp.Navigate(s.srv.URL + "/t/nope/"), chromedp.WaitVisible(chromedp.ID("reference"))}},
		{"signed out", []chromedp.Action[chromedp.Void]{chromedp.Navigate(s.srv.URL + "/logout"), chromedp.WaitVisible(chromedp.ID("message"))}},
	} {
		chromeDo(t, ctx, p.steps...)
		chromeCheckAccessibility(t, ctx, axe, p.name)
		chromeShot(t, ctx, strings.ReplaceAll(p.name, " ", "-"))
	}
}

// browserFraming: a portal listed in server.frame_ancestors shows the
// login page in an iframe and the user signs in there; a page of any other
// origin that frames it gets nothing, as does every page without the key.
func browserFraming(t *testing.T, b *chromeBrowser) {
	ctx := b.tab(t, 1000, 900)
	newPortal := func() *httptest.Server {
		p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Portal</title><h1>Intranet</h1><iframe id="qlik" title="Sign in" src="%s" width="600" height="760"></iframe>`,
				html.EscapeString(r.URL.Query().Get("src")))
		}))
		t.Cleanup(p.Close)
		return p
	}
	portal, stranger := newPortal(), newPortal()
	framed := newStack(t, withWeb(func(c *web.Config) { c.Server.FrameAncestors = []string{portal.URL} }))
	plain := newStack(t)

	// frame is the URL the iframe shows (chrome-error://… when the browser
	// refused to frame the page).
	frame := func() string {
		tree := chromeRun(t, ctx, func(ctx context.Context, tg *chromedp.Target) (page.GetFrameTreeResult, error) {
			return cdp.Call(ctx, tg, page.GetFrameTree, cdp.Empty{})
		})
		if len(tree.FrameTree.ChildFrames) != 1 {
			t.Fatalf("%d frames in the portal", len(tree.FrameTree.ChildFrames))
		}
		return tree.FrameTree.ChildFrames[0].Frame.URL
	}
	show := func(p *httptest.Server, src string) {
		chromeDo(t, ctx, chromedp.Navigate(p.URL+"/?src="+url.QueryEscape(src)), chromedp.WaitReady(chromedp.ID("qlik")))
		// Navigate waits for the portal's load event, which comes after
		// its frame loaded or failed.
	}

	for _, tt := range []struct {
		name   string
		portal *httptest.Server
		src    string
	}{{"an origin not in frame_ancestors", stranger, framed.srv.URL + "/"}, {"no frame_ancestors", portal, plain.srv.URL + "/"}} {
		show(tt.portal, tt.src)
		if u := frame(); strings.HasPrefix(u, "http") {
			t.Errorf("%s: the login page shows in the frame (%s)", tt.name, u)
		}
	}

	show(portal, framed.srv.URL+"/")
	iframe := chromeRun(t, ctx, chromedp.Nodes(chromedp.CSS("#qlik")))
	in := chromedp.FromNode(iframe[0])
	chromeDo(t, ctx,
		chromedp.WaitVisible(chromedp.CSS("#username"), in),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice", in),
		chromedp.SendKeys(chromedp.CSS("#password"), "alicepw", in),
	)
	chromeShot(t, ctx, "portal")
	chromeDo(t, ctx, chromedp.Click(chromedp.CSS("#submit"), in))
	// The hub is another origin than the portal: watch the frame's URL.
	for deadline := time.Now().Add(10 * time.Second); !strings.HasPrefix(frame(), framed.sim.HubURL()); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			chromeShot(t, ctx, "failed")
			t.Fatalf("after signing in inside the frame it shows %s", frame())
		}
	}
	chromeShot(t, ctx, "hub")
	// The form in the frame is qlikgate's own page, so Chrome posted it
	// with qlikgate's Origin: the portal needs no place in the Origin
	// check's allowlist.
	if line := lineWith(framed.logs.String(), "event=csrf_failed"); line != "" {
		t.Errorf("the framed login was refused: %s", line)
	}
}
