package web_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// linkAttr finds every URL a page makes the browser use.
var linkAttr = regexp.MustCompile(`(?:href|src|action)="([^"]*)"`)

// withPrefix serves qlikgate under a path, as behind a reverse proxy
// that forwards https://portal.example.com/qlik/auth/ unchanged.
func withPrefix(prefix string) option {
	return withWeb(func(c *web.Config) { c.Server.PublicURL += strings.TrimPrefix(prefix, "/") })
}

// TestPathPrefix: under public_url's path every link, form action, asset,
// redirect and the cookie path carry the prefix, and a login (password and
// OIDC) completes.
func TestPathPrefix(t *testing.T) {
	const prefix = "/qlik/auth/"
	op := oidctest.Start(t)
	s := newStack(t, withPrefix(prefix), withOIDC(op, nil))
	s.sim.SetModuleURL(s.srv.URL + prefix)

	b := webtest.NewBrowser()
	login := s.openHub(t, b, "stream/3")
	if !strings.HasPrefix(login.URL.Path, prefix) {
		t.Fatalf("entry at %s, want under %s", login.URL.Path, prefix)
	}
	links := linkAttr.FindAllStringSubmatch(login.Body, -1)
	if len(links) < 4 {
		t.Fatalf("only %d links on the login page", len(links))
	}
	for _, m := range links {
		if !strings.HasPrefix(m[1], prefix) {
			t.Errorf("link %q does not start with %s", m[1], prefix)
		}
		if u := s.srv.URL + strings.ReplaceAll(m[1], "&amp;", "&"); strings.Contains(m[1], "/static/") {
			if p := b.MustGet(t, u); p.Status != http.StatusOK {
				t.Errorf("GET %s: %d", u, p.Status)
			}
		}
	}
	if p := b.MustGet(t, s.srv.URL+"/static/qlikgate.css"); p.Status != http.StatusNotFound {
		t.Errorf("assets are served outside the prefix: %d", p.Status)
	}
	resp, err := http.Get(s.srv.URL + prefix)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Path="+prefix) {
		t.Errorf("Set-Cookie %q is not scoped to %s", sc, prefix)
	}

	hub := b.MustPostForm(t, s.srv.URL+prefix+"login", login.MustLoginForm(t, "alice", "alicepw"))
	if hub.HubUser() != `CORP\alice` || !strings.HasSuffix(hub.URL.Path, "/hub/stream/3") {
		t.Fatalf("password login under the prefix: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	out := b.MustLogout(t, s.srv.URL+prefix+"logout")
	if out.Status != http.StatusOK || !strings.Contains(out.Body, `href="`+prefix+`"`) {
		t.Fatalf("signed-out page: %d\n%s", out.Status, out.Body)
	}
	if p := b.MustGet(t, s.srv.URL+prefix+"nope"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, `class="button" href="`+prefix+`"`) {
		t.Errorf("404 under the prefix: %d\n%s", p.Status, p.Body)
	}

	// OIDC: the redirect to the provider start and the callback live under
	// the prefix too.
	b2 := webtest.NewBrowser()
	login = s.openHub(t, b2, "")
	start := b2.NoFollow().MustGet(t, s.srv.URL+prefix+"login?provider=idp")
	if loc := start.Header.Get("Location"); start.Status != http.StatusFound || !strings.HasPrefix(loc, prefix+"login/idp?") {
		t.Fatalf("?provider=idp under the prefix: %d %q", start.Status, loc)
	}
	cb := op.Login(t, b2.Client, s.srv.URL+prefix+"login/idp?flow="+url.QueryEscape(login.MustLoginForm(t, "", "").Get("flow")), "alice", "alicepass")
	if !strings.HasPrefix(cb.Path, prefix+"callback/idp") {
		t.Fatalf("callback %s is not under the prefix", cb)
	}
	if hub := b2.MustGet(t, cb.String()); hub.HubUser() != `OIDC\alice` {
		t.Fatalf("OIDC login under the prefix: %d\n%s", hub.Status, hub.Body)
	}
}

// TestFrameAncestors: with server.frame_ancestors the pages may be framed
// by those origins only; without it by nobody (TestCookieFlags).
func TestFrameAncestors(t *testing.T) {
	portals := []string{"https://portal.example.com", "https://*.intranet.example.com"}
	s := newStack(t, withWeb(func(c *web.Config) { c.Server.FrameAncestors = portals }))
	resp, err := http.Get(s.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors "+strings.Join(portals, " ")) {
		t.Errorf("CSP = %q", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options %q would forbid the portal", xfo)
	}
	// Over plain http SameSite=None cannot work (browsers want Secure): the
	// cookie stays Lax and the log says why.
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("Set-Cookie %q", sc)
	}
	if !strings.Contains(s.logs.String(), "frame_ancestors is set but public_url is plain http") {
		t.Error("no warning about frame_ancestors over http")
	}

	// Over https a login inside a cross-site frame needs SameSite=None.
	secure := newStack(t, withWeb(func(c *web.Config) {
		c.Server.FrameAncestors = portals
		c.Server.PublicURL = strings.Replace(c.Server.PublicURL, "http://", "https://", 1)
	}))
	resp, err = http.Get(secure.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "SameSite=None") || !strings.Contains(sc, "Secure") {
		t.Errorf("framed over https: Set-Cookie %q, want SameSite=None; Secure", sc)
	}
}

// TestBranding: every ui key shows on the pages without code.
func TestBranding(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	logo := write("logo.svg", `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32"><rect width="120" height="32" fill="#c00"/></svg>`)
	css := write("acme.css", ".card { border-top: 6px solid #c00; }\n")
	s := newStack(t, withWeb(func(c *web.Config) {
		c.UI.Title, c.UI.LogoFile, c.UI.CustomCSSFile = "Acme Analytics", logo, css
		c.UI.PrimaryColor = "#ffcc00" // light: black text on it, a darker shade for links
		c.UI.FooterText, c.UI.HelpURL, c.UI.HelpText = "© Acme Corp", "https://help.acme.example/qlik", "IT help desk"
	}))
	p := webtest.NewBrowser().MustGet(t, s.srv.URL+"/")
	for _, want := range []string{
		"<title>Sign in · Acme Analytics</title>",
		`<p class="product">Acme Analytics</p>`,
		`<img class="logo" src="/static/logo?v=`,
		`<p>© Acme Corp</p>`,
		`<a href="https://help.acme.example/qlik">IT help desk</a>`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	// The custom stylesheet comes after the default ones, so its rules win.
	sheets := regexp.MustCompile(`<link rel="stylesheet" href="/static/([a-z]+)\.css`).FindAllStringSubmatch(p.Body, -1)
	if len(sheets) != 3 || sheets[0][1] != "qlikgate" || sheets[1][1] != "theme" || sheets[2][1] != "custom" {
		t.Errorf("stylesheets %v, want qlikgate, theme, custom", sheets)
	}
	b := webtest.NewBrowser()
	for path, want := range map[string]string{
		"/static/custom.css": "border-top: 6px solid #c00",
		"/static/theme.css":  "--on-primary: #000000",
		"/static/logo":       "<svg",
	} {
		if got := b.MustGet(t, s.srv.URL+path); got.Status != http.StatusOK || !strings.Contains(got.Body, want) {
			t.Errorf("GET %s: %d %q", path, got.Status, got.Body)
		}
	}
	if th := b.MustGet(t, s.srv.URL+"/static/theme.css"); strings.Contains(th.Body, "--primary-text: #ffcc00") {
		t.Errorf("a light primary colour is used for text on white:\n%s", th.Body)
	}
	// Without the keys, none of it appears.
	plain := webtest.NewBrowser().MustGet(t, newStack(t).srv.URL+"/")
	for _, absent := range []string{"custom.css", "static/logo", "<footer"} {
		if strings.Contains(plain.Body, absent) {
			t.Errorf("default page has %s", absent)
		}
	}
}

// TestTemplateOverride: a file in ui.templates_dir replaces the embedded
// template of the same name; the others stay.
func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	login := `{{define "title"}}{{.T "login.heading"}}{{end}}
{{define "content"}}<h1>{{.T "login.heading"}}</h1>
<p class="notice" id="notice">Use your Acme account.</p>
{{if .Message}}<p role="alert" id="message">{{.Message}}</p>{{end}}
<form method="post" action="{{.Base}}login">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="flow" value="{{.Flow}}">
<label for="username">{{.T "login.username"}}</label><input id="username" name="username" value="{{.Username}}">
<label for="password">{{.T "login.password"}}</label><input id="password" name="password" type="password">
<button id="submit">{{.T "login.submit"}}</button></form>{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "login.html"), []byte(login), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, withWeb(func(c *web.Config) { c.UI.TemplatesDir = dir }))
	b := webtest.NewBrowser()
	p := s.openHub(t, b, "")
	if !strings.Contains(p.Body, `<p class="notice" id="notice">Use your Acme account.</p>`) || !strings.Contains(p.Body, `<header class="brand">`) {
		t.Fatalf("override not used, or the embedded layout lost:\n%s", p.Body)
	}
	if p := b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "wrong")); p.Message() != "The username or password is incorrect." {
		t.Errorf("override after a failure: %d %q", p.Status, p.Message())
	}
	if p := b.MustGet(t, s.srv.URL+"/nope"); !strings.Contains(p.Body, `<code id="reference">`) {
		t.Errorf("the embedded error page is not used:\n%s", p.Body)
	}
}

// TestLanguageByAcceptLanguage: the page, its messages and its headers
// follow the browser's language.
func TestLanguageByAcceptLanguage(t *testing.T) {
	s := newStack(t)
	get := func(lang string) webtest.Page {
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/", nil)
		req.Header.Set("Accept-Language", lang)
		p, err := webtest.NewBrowser().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for lang, heading := range map[string]string{"de-DE,de;q=0.9": "Anmelden", "fr": "Connexion", "es-ES": "Iniciar sesión", "sv": "Logga in", "ja": "Sign in"} {
		p := get(lang)
		want := strings.SplitN(strings.SplitN(lang, ",", 2)[0], "-", 2)[0]
		if want == "ja" {
			want = "en"
		}
		if !strings.Contains(p.Body, `<html lang="`+want+`">`) || !strings.Contains(p.Body, "<h1>"+heading+"</h1>") {
			t.Errorf("%s: no %s page:\n%s", lang, want, p.Body)
		}
		if p.Header.Get("Content-Language") != want || !strings.Contains(strings.Join(p.Header.Values("Vary"), ","), "Accept-Language") {
			t.Errorf("%s: Content-Language %q, Vary %q", lang, p.Header.Get("Content-Language"), p.Header.Values("Vary"))
		}
	}
	// A message chosen by the server follows the language too.
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/login", strings.NewReader(login.MustLoginForm(t, "alice", "wrong").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "sv-SE")
	p, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusUnauthorized || p.Message() != "Användarnamnet eller lösenordet är felaktigt." {
		t.Errorf("Swedish failure: %d %q", p.Status, p.Message())
	}
	// And so does the default when the browser asks for nothing known.
	de := newStack(t, withWeb(func(c *web.Config) { c.UI.DefaultLanguage = "de" }))
	if p := webtest.NewBrowser().MustGet(t, de.srv.URL+"/"); !strings.Contains(p.Body, `<html lang="de">`) {
		t.Errorf("default_language de: %s", p.Body)
	}
}

// TestQlikUnreachable: a signed-in user whom Qlik cannot take gets the
// "service unavailable" page with a reference and a way back, never the
// Go error.
func TestQlikUnreachable(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	s.sim.Close()
	p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "<h1>Service unavailable</h1>") ||
		!strings.HasPrefix(p.Message(), "You are signed in, but Qlik cannot be reached at the moment.") {
		t.Fatalf("QPS down: %d %q\n%s", p.Status, p.Message(), p.Body)
	}
	ref := p.Header.Get("X-Request-Id")
	if ref == "" || !strings.Contains(p.Body, `<code id="reference">`+ref+`</code>`) || !strings.Contains(s.logs.String(), "request_id="+ref) {
		t.Errorf("the reference %q is not on the page and in the log", ref)
	}
	for _, leak := range []string{"dial tcp", "connection refused", "qps:", "goroutine"} {
		if strings.Contains(p.Body, leak) {
			t.Errorf("the page shows %q", leak)
		}
	}
	if !strings.Contains(p.Body, `class="button" href="/">`) {
		t.Errorf("no way back to the target's entry")
	}
}
