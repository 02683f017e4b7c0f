package main

import (
	"crypto/tls"
	"html"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/demo"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// allFreePorts are demo flags that put every listener on a free port, so
// tests never depend on the fixed defaults being free.
var allFreePorts = []string{
	"-listen", "127.0.0.1:0", "-index", "127.0.0.1:0", "-hub", "127.0.0.1:0", "-qps", "127.0.0.1:0",
	"-session-hub", "127.0.0.1:0", "-session-qps", "127.0.0.1:0", "-qlikview", "127.0.0.1:0", "-cloud", "127.0.0.1:0",
}

var (
	indexURLRe  = regexp.MustCompile(`Demo index \(start here\):\s+(\S+)`)
	moduleRe    = regexp.MustCompile(`<a id="module" href="([^"]+)">`)
	targetRe    = regexp.MustCompile(`<li id="target-([a-z-]+)"><a href="([^"]+)">([^<]+)</a>`)
	dataAttrRe  = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)
	cloudUserRe = regexp.MustCompile(`<h1 id="user">([^<]*)</h1>`)
)

// demoIndex is what the index page links.
type demoIndex struct {
	url     string            // the index page itself
	module  string            // qlikgate, with a trailing slash
	targets map[string]string // target id -> what to open
	body    string
}

// startDemo runs `qlikgate demo` on free ports and reads its index page.
func startDemo(t *testing.T, extra ...string) (*running, demoIndex) {
	t.Helper()
	r := start(t, append(append([]string{"demo"}, allFreePorts...), extra...)...)
	r.waitFor(t, "the banner", func() bool { return indexURLRe.MatchString(r.stdout.String()) })
	idx := demoIndex{url: indexURLRe.FindStringSubmatch(r.stdout.String())[1], targets: map[string]string{}}
	p := webtest.NewBrowser().MustGet(t, idx.url)
	if p.Status != http.StatusOK {
		t.Fatalf("index page: %d\n%s", p.Status, p.Body)
	}
	idx.body = p.Body
	if m := moduleRe.FindStringSubmatch(p.Body); m != nil {
		idx.module = html.UnescapeString(m[1])
	}
	for _, m := range targetRe.FindAllStringSubmatch(p.Body, -1) {
		idx.targets[m[1]] = html.UnescapeString(m[2])
	}
	return r, idx
}

// newDemoBrowser is a scripted browser that, like a user who clicked
// through the warning, accepts the demo's made-up certificates: they are
// generated per run and not what these tests are about.
func newDemoBrowser() *webtest.Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &webtest.Browser{Client: &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}},
	}}
}

// signIn opens a Qlik product's URL, expects qlikgate's login page and
// signs in; it returns the page the browser ends on.
func signIn(t *testing.T, b *webtest.Browser, idx demoIndex, entry, user, password string) webtest.Page {
	t.Helper()
	login := b.MustGet(t, entry)
	if !strings.HasPrefix(login.URL.String(), idx.module) || !login.IsLoginPage() {
		t.Fatalf("%s did not lead to qlikgate's login page: %d %s\n%s", entry, login.Status, login.URL, login.Body)
	}
	return b.MustPostForm(t, idx.module+"login", login.MustLoginForm(t, user, password))
}

func TestDemoOffersEveryTarget(t *testing.T) {
	t.Parallel() // every port is a free one
	r, idx := startDemo(t)
	for _, id := range []string{"sense", "sense-session", "qv", "cloud"} {
		if idx.targets[id] == "" {
			t.Fatalf("the index page does not link target %q:\n%s", id, idx.body)
		}
	}
	for _, w := range []string{"Qlik Sense hub", "QlikView AccessPoint", "Qlik Cloud tenant", "alice", "bob", "CORP", "accept the browser", "-https", "Ctrl-C"} {
		if !strings.Contains(idx.body, w) {
			t.Errorf("the index page lacks %q", w)
		}
	}
	if !strings.HasPrefix(idx.module, "http://127.0.0.1:") {
		t.Fatalf("qlikgate at %q", idx.module)
	}

	t.Run("sense-ticket", func(t *testing.T) {
		hub := signIn(t, newDemoBrowser(), idx, idx.targets["sense"], "alice", "alice")
		if hub.HubUser() != `CORP\alice` || !strings.Contains(hub.Body, "Group=Sales") || !strings.Contains(hub.Body, "Group=EU") {
			t.Fatalf("hub: %d %s\n%s", hub.Status, hub.URL, hub.Body)
		}
		if hub.URL.Query().Get("qlikTicket") == "" {
			t.Errorf("the hub was not reached with a ticket: %s", hub.URL)
		}
	})
	t.Run("sense-session", func(t *testing.T) {
		b := newDemoBrowser()
		hub := signIn(t, b, idx, idx.targets["sense-session"], "bob", "bob")
		if hub.HubUser() != `CORP\bob` {
			t.Fatalf("hub: %d %s\n%s", hub.Status, hub.URL, hub.Body)
		}
		if b.Cookie(idx.targets["sense-session"], "X-Qlik-Session-"+demo.SessionPrefix+"-HTTP") == nil {
			t.Error("qlikgate did not set the virtual proxy's session cookie")
		}
	})
	t.Run("qlikview", func(t *testing.T) {
		ap := signIn(t, newDemoBrowser(), idx, idx.targets["qv"], "alice", "alice")
		if ap.HubUser() != `CORP\alice` || !strings.Contains(ap.Body, "<li>Sales</li>") || !strings.HasPrefix(ap.URL.String(), idx.targets["qv"]) {
			t.Fatalf("AccessPoint: %d %s\n%s", ap.Status, ap.URL, ap.Body)
		}
	})
	t.Run("cloud", func(t *testing.T) {
		// cloud-oidc: the tenant's identity provider is qlikgate.
		hub := signIn(t, newDemoBrowser(), idx, idx.targets["cloud"], "alice", "alice")
		if m := cloudUserRe.FindStringSubmatch(hub.Body); m == nil || m[1] != "alice" || !strings.Contains(hub.Body, "<li>EU</li>") {
			t.Fatalf("tenant hub: %d %s\n%s", hub.Status, hub.URL, hub.Body)
		}
	})
	t.Run("cloud-jwt", func(t *testing.T) {
		hub := cloudSignIn(t, newDemoBrowser(), idx, "alice", "alice")
		if m := cloudUserRe.FindStringSubmatch(hub.Body); m == nil || m[1] != "alice" || !strings.Contains(hub.Body, "<li>EU</li>") {
			t.Fatalf("tenant hub: %d %s\n%s", hub.Status, hub.URL, hub.Body)
		}
	})
	t.Run("single sign-on across targets", func(t *testing.T) {
		b := newDemoBrowser()
		signIn(t, b, idx, idx.targets["qv"], "alice", "alice")
		if hub := b.MustGet(t, idx.targets["sense-session"]); hub.HubUser() != `CORP\alice` {
			t.Fatalf("signed in through QlikView, the second virtual proxy still asks: %d %s", hub.Status, hub.URL)
		}
	})

	addrs := simAddrs(t, idx)
	if code := r.stop(t); code != exitOK {
		t.Fatalf("demo exit code %d", code)
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Ctrl-C", a)
		}
	}
}

// TestDemoHTTPS checks what -https is for: the Cloud hand-off from an
// https qlikgate, and the other products still sending users to it.
func TestDemoHTTPS(t *testing.T) {
	t.Parallel()
	_, idx := startDemo(t, "-https")
	if !strings.HasPrefix(idx.module, "https://127.0.0.1:") {
		t.Fatalf("qlikgate at %q, want https", idx.module)
	}
	if hub := signIn(t, newDemoBrowser(), idx, idx.targets["cloud"], "alice", "alice"); !strings.Contains(hub.Body, `<h1 id="user">alice</h1>`) {
		t.Fatalf("tenant hub through cloud-oidc over https: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	b := newDemoBrowser()
	if hub := cloudSignIn(t, b, idx, "alice", "alice"); !strings.Contains(hub.Body, `<h1 id="user">alice</h1>`) {
		t.Fatalf("tenant hub: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	if hub := b.MustGet(t, idx.targets["sense"]); hub.HubUser() != `CORP\alice` {
		t.Fatalf("Sense hub through an https qlikgate: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
}

// cloudSignIn opens the tenant, signs in at qlikgate and then does what
// static/cloud.js does on the hand-off page: the CORS preflight, the POST
// of the JWT to /login/jwt-session with credentials, the csrf-token check
// that proves the cookie was kept, and the navigation to returnto.
func cloudSignIn(t *testing.T, b *webtest.Browser, idx demoIndex, user, password string) webtest.Page {
	t.Helper()
	page := signIn(t, b, idx, idx.module+"t/cloud-jwt/?returnto="+url.QueryEscape(idx.targets["cloud"]), user, password)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="cloud-handoff"`) {
		t.Fatalf("hand-off page: %d %s\n%s", page.Status, page.URL, page.Body)
	}
	data := map[string]string{}
	for _, m := range dataAttrRe.FindAllStringSubmatch(page.Body, -1) {
		data[m[1]] = html.UnescapeString(m[2])
	}
	origin := strings.TrimSuffix(idx.module, "/")
	wi := data["web-integration-id"]

	pre, _ := http.NewRequest(http.MethodOptions, data["session-url"], nil)
	pre.Header.Set("Origin", origin)
	pre.Header.Set("Access-Control-Request-Method", http.MethodPost)
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type,qlik-web-integration-id")
	if p, err := b.NoFollow().Do(pre); err != nil || p.Status != http.StatusNoContent || p.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("preflight from %s: %v %d %v", origin, err, p.Status, p.Header)
	}
	post, _ := http.NewRequest(http.MethodPost, data["session-url"], nil)
	post.Header.Set("Origin", origin)
	post.Header.Set("Authorization", "Bearer "+data["jwt"])
	post.Header.Set("Qlik-Web-Integration-ID", wi)
	post.Header.Set("Content-Type", "application/json")
	if p, err := b.NoFollow().Do(post); err != nil || p.Status != http.StatusOK || p.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("jwt-session: %v %d %s", err, p.Status, p.Body)
	}
	check, _ := http.NewRequest(http.MethodGet, data["check-url"], nil)
	check.Header.Set("Origin", origin)
	check.Header.Set("Qlik-Web-Integration-ID", wi)
	if p, err := b.NoFollow().Do(check); err != nil || p.Status != http.StatusNoContent {
		t.Fatalf("csrf-token after the hand-off: %v %d", err, p.Status)
	}
	tenant, _ := url.Parse(idx.targets["cloud"])
	if ret, err := url.Parse(data["return-to"]); err != nil || ret.Host != tenant.Host {
		t.Fatalf("return-to %q is not on the tenant %s", data["return-to"], tenant.Host)
	}
	return b.MustGet(t, data["return-to"])
}

// simAddrs are the host:port of qlikgate, the index page and every
// simulated product's browser-facing side.
func simAddrs(t *testing.T, idx demoIndex) []string {
	t.Helper()
	var out []string
	for _, raw := range append([]string{idx.module, idx.url}, idx.targets["sense"], idx.targets["sense-session"], idx.targets["qv"], idx.targets["cloud"]) {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u.Host)
	}
	return out
}
