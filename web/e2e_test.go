package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/reqctx"
	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/sense"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// clock is a settable clock shared by qliksim and qlikgate.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stack is qlikgate (static provider + sense-ticket target) in front of a
// simulated Qlik Sense site.
type stack struct {
	sim   *qliksim.Sense
	srv   *httptest.Server
	clock *clock
	logs  *testlog.Buffer
	// clientKeyFile is the Qlik client key the targets use.
	clientKeyFile string
	// origin is public_url's origin (what qlikgate's own pages post from).
	origin string
}

var cheap = static.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// option changes how a stack is built.
type option func(*setup)

type setup struct {
	web      []func(*web.Config)
	provider []func(t testing.TB, publicURL string, log *slog.Logger) web.Provider
	target   []func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target
	access   map[string]qlik.Access
	embed    map[string][]string
	https    bool
	// mfa is the local provider's second-factor policy and its store.
	mfa     mfa.Policy
	mfaOpts web.MFAOptions
}

// withHTTPS serves qlikgate over HTTPS with httptest's certificate
// (stack.srv.Certificate()).
func withHTTPS() option { return func(s *setup) { s.https = true } }

// withWeb changes the web configuration.
func withWeb(f func(*web.Config)) option { return func(s *setup) { s.web = append(s.web, f) } }

// withProvider adds a provider, built once qlikgate's public URL is known.
func withProvider(f func(t testing.TB, publicURL string, log *slog.Logger) web.Provider) option {
	return func(s *setup) { s.provider = append(s.provider, f) }
}

// withTarget adds a target, built once qlikgate's public URL is known.
func withTarget(f func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target) option {
	return func(s *setup) { s.target = append(s.target, f) }
}

// withEmbedOrigins gives target id embed_origins.
func withEmbedOrigins(id string, origins ...string) option {
	return func(s *setup) {
		if s.embed == nil {
			s.embed = map[string][]string{}
		}
		s.embed[id] = origins
	}
}

// withAccess gives target id access rules.
func withAccess(id string, a qlik.Access) option {
	return func(s *setup) {
		if s.access == nil {
			s.access = map[string]qlik.Access{}
		}
		s.access[id] = a
	}
}

func newStack(t testing.TB, opts ...option) *stack {
	t.Helper()
	var su setup
	for _, o := range opts {
		o(&su)
	}
	clk := &clock{t: time.Now()}
	logf, logw := t.Logf, io.Writer(testWriter{t})
	if _, bench := t.(*testing.B); bench { // measure the work, not the test log
		logf, logw = func(string, ...any) {}, io.Discard
	}
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr", Now: clk.Now, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	files, err := sim.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	// Wrapped as main wraps it, so that providers' and targets' lines carry
	// the request id too.
	log := slog.New(reqctx.NewHandler(slog.NewTextHandler(io.MultiWriter(logs, logw), &slog.HandlerOptions{Level: slog.LevelDebug})))

	hash := func(pw string) string {
		h, err := static.HashPassword(pw, cheap)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	prov, err := static.Open(context.Background(), providers.Common{ID: "local"}, &static.Config{Users: []static.User{
		{Username: "alice", PasswordHash: hash("alicepw"), Name: "Alice", Email: "alice@example.org", Groups: []string{"Sales", "EU"}},
		{Username: "bob", PasswordHash: hash("bobpw")},
	}}, providers.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sense.DefaultConfig()
	cfg.ProxyRestURI = sim.ProxyRestURI()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	cfg.HubURL = sim.HubURL()
	target, err := sense.OpenTicket(context.Background(), qlik.Common{ID: "sense"}, cfg, qlik.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	sessCfg := &sense.SessionConfig{Config: *cfg, SessionCookieName: sim.CookieName()}

	ts := httptest.NewUnstartedServer(nil)
	wc := web.DefaultConfig()
	wc.Server.PublicURL = "http://" + ts.Listener.Addr().String() + "/"
	if su.https {
		wc.Server.PublicURL = "https://" + ts.Listener.Addr().String() + "/"
	}
	sessTarget, err := sense.OpenSession(context.Background(), qlik.Common{ID: "session"}, sessCfg, qlik.Env{PublicURL: wc.Server.PublicURL, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	wc.Session.Secret = strings.Repeat("s", 40)
	for _, m := range su.web {
		m(&wc)
	}
	provs := []web.Provider{{Common: providers.Common{ID: "local", Kind: "static", Label: "Local", Directory: "CORP"}, Impl: prov, MFA: su.mfa}}
	for _, f := range su.provider {
		provs = append(provs, f(t, wc.Server.PublicURL, log))
	}
	targets := []qlik.Target{target, sessTarget}
	for _, f := range su.target {
		targets = append(targets, f(t, wc.Server.PublicURL, log))
	}
	// The test owns the targets, as main does: closed before the simulator
	// (cleanups run last first), so background work such as sense-session's
	// retries stops before the test ends and logs nothing after it.
	for _, tg := range targets {
		if c, ok := tg.(io.Closer); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
	}
	srv, err := web.New(web.Options{
		Config:        wc,
		Providers:     provs,
		Targets:       targets,
		DefaultTarget: "sense",
		Logger:        log,
		Now:           clk.Now,
		TargetKinds:   map[string]string{"sense": "sense-ticket", "session": "sense-session"},
		Access:        su.access,
		MFA:           su.mfaOpts,
		EmbedOrigins:  su.embed,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ts.Config.Handler = srv.Handler()
	if su.https {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	sim.SetModuleURL(ts.URL + "/")
	pu, _ := url.Parse(wc.Server.PublicURL)
	return &stack{sim: sim, srv: ts, clock: clk, logs: logs, clientKeyFile: files.ClientKey, origin: pu.Scheme + "://" + pu.Host}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// openHub visits the hub unauthenticated and must land on the login page.
func (s *stack) openHub(t *testing.T, b *webtest.Browser, path string) webtest.Page {
	t.Helper()
	p := b.MustGet(t, s.sim.HubURL()+path)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.String(), s.srv.URL) || !p.IsLoginPage() {
		t.Fatalf("hub did not lead to the login page: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if p.URL.Query().Get("targetId") == "" || p.URL.Query().Get("proxyRestUri") != s.sim.ProxyRestURI() {
		t.Fatalf("entry URL %s lacks Qlik's parameters", p.URL)
	}
	return p
}

func TestTicketLoginEndToEnd(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "stream/42?x=1")

	hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "ALICE", "alicepw"))
	if hub.Status != http.StatusOK {
		t.Fatalf("after login: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	if got := hub.HubUser(); got != `CORP\alice` {
		t.Errorf("hub user = %q, want CORP\\alice (UserId from the directory entry, not the typed ALICE)", got)
	}
	for _, want := range []string{"Group=Sales", "Group=EU"} {
		if !strings.Contains(hub.Body, want) {
			t.Errorf("hub page lacks attribute %s:\n%s", want, hub.Body)
		}
	}
	// The ticket was sent to the TargetUri: the page first asked for.
	if !strings.HasSuffix(hub.URL.Path, "/hr/hub/stream/42") || hub.URL.Query().Get("x") != "1" {
		t.Errorf("landed on %s, want the originally requested /hr/hub/stream/42?x=1", hub.URL)
	}
	if st := s.sim.Stats(); st.TicketsIssued != 1 || st.TicketsConsumed != 1 {
		t.Errorf("stats = %+v, want one ticket issued and consumed", st)
	}
	if strings.Contains(s.logs.String(), hub.URL.Query().Get("qlikTicket")) {
		t.Error("the ticket appears in qlikgate's log")
	}
	if strings.Contains(s.logs.String(), "alicepw") {
		t.Error("the password appears in qlikgate's log")
	}
}

func TestSingleSignOnAndLogout(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	if p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); p.HubUser() != `CORP\alice` {
		t.Fatalf("login failed: %s", p.Body)
	}
	// A second virtual-proxy session (Qlik timed out, another tab…): Qlik
	// sends the browser back and qlikgate hands over without a login page.
	b2 := s.sim.HubURL()
	hubOnly := webtest.NewBrowser()
	u, _ := url.Parse(s.srv.URL)
	hubOnly.Client.Jar.SetCookies(u, s.qlikgateCookie(t, b)) // same qlikgate session, no Qlik session
	p := hubOnly.MustGet(t, b2)
	if p.Status != http.StatusOK || p.HubUser() != `CORP\alice` {
		t.Fatalf("single sign-on did not pass straight through: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if got := s.sim.Stats().TicketsIssued; got != 2 {
		t.Errorf("tickets issued = %d, want 2", got)
	}
	checkOneLinePerHandoff(t, s.logs.String(), 2)

	// Logout ends the qlikgate session and the user's proxy sessions.
	out := b.MustLogout(t, s.srv.URL+"/logout")
	if out.Status != http.StatusOK || !strings.Contains(out.Body, "signed out") {
		t.Fatalf("logout page: %d\n%s", out.Status, out.Body)
	}
	s.openHub(t, b, "") // proxy session gone → module → login page (qlikgate session gone too)
	// A copy of the signed-in cookie, taken before logout, is refused too.
	s.openHub(t, hubOnly, "")
}

// checkOneLinePerHandoff checks that each hand-off was logged as its
// request's closing line, with the request's and Qlik's facts together,
// and not a second time as a bare request line.
func checkOneLinePerHandoff(t *testing.T, logs string, want int) {
	t.Helper()
	idRe := regexp.MustCompile(`request_id=(\S+)`)
	var handoffs int
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, "event=handoff ") {
			continue
		}
		handoffs++
		for _, w := range []string{`msg="handed off to Qlik"`, "target=sense", "user=alice", "qlik_ms=", "method=", "status=302", "duration_ms="} {
			if !strings.Contains(line, w) {
				t.Errorf("hand-off line without %s: %s", w, line)
			}
		}
		m := idRe.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("hand-off line without request_id: %s", line)
			continue
		}
		for other := range strings.Lines(logs) {
			if strings.Contains(other, "request_id="+m[1]+" ") && strings.Contains(other, "event=http_request") {
				t.Errorf("request %s has a separate request line besides its hand-off: %s", m[1], other)
			}
		}
	}
	if handoffs != want {
		t.Errorf("%d hand-off lines, want %d:\n%s", handoffs, want, logs)
	}
}

// qlikgateCookie returns qlikgate's session cookie of b.
func (s *stack) qlikgateCookie(t *testing.T, b *webtest.Browser) []*http.Cookie {
	t.Helper()
	c := b.Cookie(s.srv.URL, "qlikgate")
	if c == nil {
		t.Fatal("no qlikgate cookie")
	}
	return []*http.Cookie{c}
}

func TestSessionRotatedAtLogin(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	u, _ := url.Parse(s.srv.URL)
	before := s.qlikgateCookie(t, b)
	oldCSRF := login.MustLoginForm(t, "", "").Get("csrf")
	b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))

	// The pre-login cookie (as an attacker who planted it would hold it) is
	// not signed in.
	planted := webtest.NewBrowser()
	planted.Client.Jar.SetCookies(u, before)
	p := planted.MustGet(t, s.srv.URL+"/")
	if !strings.Contains(p.Body, `id="password"`) {
		t.Fatalf("the pre-login session cookie is signed in after login:\n%s", p.Body)
	}
	// The signed-in browser has a new CSRF token.
	p = b.MustGet(t, s.srv.URL+"/login")
	if p.MustLoginForm(t, "", "").Get("csrf") == oldCSRF {
		t.Error("CSRF token not rotated at login")
	}
	if after := s.qlikgateCookie(t, b); after[0].Value == before[0].Value {
		t.Error("the session cookie did not change at login")
	}
}

func TestCookieFlags(t *testing.T) {
	s := newStack(t)
	resp, err := http.Get(s.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"qlikgate=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	// public_url is http://127.0.0.1 here: no Secure flag, or the browser would drop the cookie.
	if strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q has Secure over plain http", sc)
	}
	for h, want := range map[string]string{
		"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestLoginFailures(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		name       string
		form       func(url.Values)
		wantStatus int
		wantText   string
	}{
		{"wrong password", func(f url.Values) { f.Set("password", "nope") }, http.StatusUnauthorized, "The username or password is incorrect."},
		{"unknown user", func(f url.Values) { f.Set("username", "mallory") }, http.StatusUnauthorized, "The username or password is incorrect."},
		{"empty password", func(f url.Values) { f.Set("password", "") }, http.StatusUnauthorized, "The username or password is incorrect."},
		{"huge password", func(f url.Values) { f.Set("password", strings.Repeat("x", 5000)) }, http.StatusUnauthorized, "The username or password is incorrect."},
		{"bad CSRF token", func(f url.Values) { f.Set("csrf", "forged") }, http.StatusForbidden, "This sign-in page had expired"},
		{"missing CSRF token", func(f url.Values) { f.Del("csrf") }, http.StatusForbidden, "This sign-in page had expired"},
		{"unknown provider", func(f url.Values) { f.Set("provider", "nope") }, http.StatusBadRequest, "Choose a sign-in method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := webtest.NewBrowser()
			login := s.openHub(t, b, "")
			f := login.MustLoginForm(t, "alice", "alicepw")
			tt.form(f)
			p := b.MustPostForm(t, s.srv.URL+"/login", f)
			if p.Status != tt.wantStatus || !strings.Contains(p.Body, tt.wantText) {
				t.Fatalf("got %d, want %d with %q:\n%s", p.Status, tt.wantStatus, tt.wantText, p.Body)
			}
			if !strings.Contains(p.Body, `id="password"`) {
				t.Error("the login form is not shown again")
			}
			// The flow survives a failure: the next try lands where Qlik asked.
			p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "alicepw"))
			if p.Status != http.StatusOK || p.HubUser() != `CORP\alice` {
				t.Fatalf("retry after failure did not log in: %d\n%s", p.Status, p.Body)
			}
		})
	}
	if n := s.sim.Stats().TicketsIssued; n != int64(len(tests)) {
		t.Errorf("tickets issued = %d, want one per successful retry (%d)", n, len(tests))
	}
}

func TestUnknownUserAndWrongPasswordLookAlike(t *testing.T) {
	s := newStack(t)
	normalize := regexp.MustCompile(`value="[^"]*"`)
	var bodies []string
	for _, user := range []string{"alice", "mallory"} {
		b := webtest.NewBrowser()
		login := s.openHub(t, b, "")
		p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, user, "wrong"))
		bodies = append(bodies, normalize.ReplaceAllString(strings.ReplaceAll(p.Body, user, "USER"), `value=""`))
		if p.Status != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", user, p.Status)
		}
	}
	if bodies[0] != bodies[1] {
		t.Errorf("unknown user and wrong password give different pages:\n%s\n---\n%s", bodies[0], bodies[1])
	}
}

func TestForeignProxyRestURIRefused(t *testing.T) {
	s := newStack(t)
	tests := []string{
		"https://evil.example:4243/qps/hr/",
		strings.Replace(s.sim.ProxyRestURI(), "/qps/hr/", "/qps/other/", 1),
		"http://" + strings.TrimPrefix(s.sim.ProxyRestURI(), "https://"),
	}
	for _, pru := range tests {
		q := url.Values{"proxyRestUri": {pru}, "targetId": {"8b1d3e3c-9f0e-4a54-a9a2-0b7a3c2d1e5f"}}
		p := webtest.NewBrowser().MustGet(t, s.srv.URL+"/?"+q.Encode())
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "not valid for this sign-in service") {
			t.Errorf("proxyRestUri %s: got %d\n%s", pru, p.Status, p.Body)
		}
		if !strings.Contains(p.Body, p.Header.Get("X-Request-Id")) || p.Header.Get("X-Request-Id") == "" {
			t.Errorf("error page does not show the request id as reference")
		}
	}
	if !strings.Contains(s.logs.String(), "event=bad_entry") {
		t.Error("no bad_entry log line")
	}
	if n := s.sim.Stats().QPSRequests; n != 0 {
		t.Errorf("qlikgate called a QPS %d times for refused entries", n)
	}
}

func TestTicketSingleUseAndExpiry(t *testing.T) {
	s := newStack(t)
	ticketURL := func() string {
		b := webtest.NewBrowser()
		login := s.openHub(t, b, "")
		p := b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
		if p.Status != http.StatusFound {
			t.Fatalf("login answered %d, want 302", p.Status)
		}
		loc := p.Header.Get("Location")
		if !strings.HasPrefix(loc, s.sim.HubURL()) || !strings.Contains(loc, "qlikTicket=") {
			t.Fatalf("redirect %q is not the hub with a ticket", loc)
		}
		return loc
	}

	loc := ticketURL()
	if p := webtest.NewBrowser().MustGet(t, loc); p.Status != http.StatusOK || p.HubUser() != `CORP\alice` {
		t.Fatalf("first use of the ticket: %d\n%s", p.Status, p.Body)
	}
	p := webtest.NewBrowser().NoFollow().MustGet(t, loc)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Header.Get("Location"), s.srv.URL) {
		t.Fatalf("second use of a ticket was not sent back to the module: %d %s", p.Status, p.Header.Get("Location"))
	}

	loc = ticketURL()
	s.clock.Advance(61 * time.Second)
	p = webtest.NewBrowser().NoFollow().MustGet(t, loc)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Header.Get("Location"), s.srv.URL) {
		t.Fatalf("a ticket older than a minute was accepted: %d", p.Status)
	}
}

func TestStaleTargetIDFallsBackToHub(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "stream/7")
	s.clock.Advance(15 * time.Minute) // the QPS forgot the targetId
	p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if p.Status != http.StatusOK || p.HubUser() != `CORP\alice` {
		t.Fatalf("login with a stale targetId failed: %d\n%s", p.Status, p.Body)
	}
	if p.URL.Path != "/hr/hub/" {
		t.Errorf("landed on %s, want the configured hub", p.URL.Path)
	}
	if !strings.Contains(s.logs.String(), "QPS refused the targetId") {
		t.Error("the fallback was not logged")
	}
}

func TestTwoTabsKeepTheirOwnTargets(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	tab1 := s.openHub(t, b, "stream/1")
	tab2 := s.openHub(t, b, "stream/2")
	p := b.MustPostForm(t, s.srv.URL+"/login", tab1.MustLoginForm(t, "alice", "alicepw"))
	if !strings.HasSuffix(p.URL.Path, "/hub/stream/1") {
		t.Fatalf("tab 1 landed on %s", p.URL.Path)
	}
	// Tab 2's form still carries its flow; its CSRF token was rotated by the
	// login in tab 1, so it is asked to sign in again and then lands right.
	p = b.MustPostForm(t, s.srv.URL+"/login", tab2.MustLoginForm(t, "alice", "alicepw"))
	if p.Status != http.StatusForbidden {
		t.Fatalf("stale form after login: %d", p.Status)
	}
	p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "alicepw"))
	if !strings.HasSuffix(p.URL.Path, "/hub/stream/2") {
		t.Fatalf("tab 2 landed on %s", p.URL.Path)
	}
}

func TestStaticAssetsAndErrors(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	for path, want := range map[string]string{
		"/static/qlikgate.css": "--primary",
		"/static/theme.css":    "#006580",
		"/healthz":             "ok",
	} {
		p := b.MustGet(t, s.srv.URL+path)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, want) {
			t.Errorf("GET %s: %d %q", path, p.Status, p.Body)
		}
	}
	for path, status := range map[string]int{
		"/nope":                 http.StatusNotFound,
		"/t/unknown/":           http.StatusNotFound,
		"/static/../go.mod":     http.StatusNotFound,
		"/static/static.go":     http.StatusNotFound,
		"/t/sense/?targetId=x'": http.StatusBadRequest,
	} {
		p := b.MustGet(t, s.srv.URL+path)
		if p.Status != status || strings.Contains(p.Body, "goroutine") || !strings.Contains(p.Body, "</html>") {
			t.Errorf("GET %s: %d, want %d and a page\n%s", path, p.Status, status, p.Body)
		}
	}
}

func TestSessionAPILoginEndToEnd(t *testing.T) {
	s := newStack(t)
	s.sim.SetModuleURL(s.srv.URL + "/t/session/")
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if hub.Status != http.StatusOK || hub.HubUser() != `CORP\alice` {
		t.Fatalf("session-API login: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	ck := b.Cookie(s.sim.HubURL(), s.sim.CookieName())
	if ck == nil {
		t.Fatal("the browser has no virtual proxy session cookie")
	}
	if sd, ok := s.sim.Session(ck.Value); !ok || sd.UserId != "alice" {
		t.Fatalf("the cookie names no QPS session: %+v", sd)
	}
	if st := s.sim.Stats(); st.TicketsIssued != 0 || st.SessionsCreated != 1 {
		t.Errorf("stats = %+v, want one session and no ticket", st)
	}
	// Logout removes the cookie from the browser and the session from the QPS.
	b.MustLogout(t, s.srv.URL+"/logout")
	if b.Cookie(s.sim.HubURL(), s.sim.CookieName()) != nil {
		t.Error("the session cookie survived logout")
	}
	if _, ok := s.sim.Session(ck.Value); ok {
		t.Error("the QPS session survived logout")
	}
	s.openHub(t, b, "")
}

func TestBruteForceThrottled(t *testing.T) {
	s := newStack(t, withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }))
	for _, user := range []string{"alice", "nobody-by-this-name"} {
		t.Run(user, func(t *testing.T) {
			b := webtest.NewBrowser()
			p := s.openHub(t, b, "")
			for i := range 5 {
				p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, strings.ToUpper(user[:1])+user[1:], "wrong"))
				if p.Status != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d", i+1, p.Status)
				}
			}
			// Even the right password is not tried now: the directory never
			// sees more than max_attempts failures per window.
			p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, user, "alicepw"))
			if p.Status != http.StatusTooManyRequests || p.Message() != "Too many sign-in attempts. Try again in 10 minutes." || p.Header.Get("Retry-After") != "600" {
				t.Fatalf("6th attempt: %d %q Retry-After=%q", p.Status, p.Message(), p.Header.Get("Retry-After"))
			}
			s.clock.Advance(10*time.Minute + time.Second)
			p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, user, "alicepw"))
			if user == "alice" && p.HubUser() != `CORP\alice` {
				t.Fatalf("after the lockout the right password fails: %d %q", p.Status, p.Message())
			}
			if user != "alice" && p.Status != http.StatusUnauthorized {
				t.Fatalf("after the lockout: %d", p.Status)
			}
		})
	}
	if n := strings.Count(s.logs.String(), "event=login_throttled"); n != 2 {
		t.Errorf("%d login_throttled log lines, want 2", n)
	}
}

func TestBruteForceFromOneAddress(t *testing.T) {
	s := newStack(t, withWeb(func(c *web.Config) { c.Security.FailureDelay, c.Security.IPMaxAttempts = 0, 8 }))
	b := webtest.NewBrowser()
	p := s.openHub(t, b, "")
	for i := range 8 { // a different username each time: only the address limit applies
		p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, fmt.Sprintf("user%d", i), "x"))
		if p.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, p.Status)
		}
	}
	p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "alicepw"))
	if p.Status != http.StatusTooManyRequests {
		t.Fatalf("9th attempt from one address: %d", p.Status)
	}
}

// TestFailureTimingDoesNotRevealUsers checks that an unknown user and a
// wrong password take the same time (within 10 %), thanks to the floor.
func TestFailureTimingDoesNotRevealUsers(t *testing.T) {
	s := newStack(t, withWeb(func(c *web.Config) {
		c.Security.FailureDelay = 150 * time.Millisecond
		c.Security.MaxAttempts, c.Security.IPMaxAttempts = 1000, 1000
	}))
	b := webtest.NewBrowser()
	p := s.openHub(t, b, "")
	measure := func(user string) time.Duration {
		var total time.Duration
		for range 10 {
			f := p.MustLoginForm(t, user, "wrong")
			start := time.Now()
			p = b.MustPostForm(t, s.srv.URL+"/login", f)
			total += time.Since(start)
			if p.Status != http.StatusUnauthorized {
				t.Fatalf("%s: %d", user, p.Status)
			}
		}
		return total / 10
	}
	known, unknown := measure("alice"), measure("mallory")
	if known < 150*time.Millisecond || unknown < 150*time.Millisecond {
		t.Fatalf("failures faster than the floor: %v %v", known, unknown)
	}
	if diff := math.Abs(float64(known-unknown)) / float64(max(known, unknown)); diff > 0.10 {
		t.Fatalf("wrong password %v vs unknown user %v: %.0f%% apart", known, unknown, diff*100)
	}
}

func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*web.Config)
		advance time.Duration
		ssoOK   bool
	}{
		{"within the lifetime", nil, 7 * time.Hour, true},
		{"past the lifetime", nil, 8*time.Hour + time.Second, false},
		{"idle timeout off by default", nil, 5 * time.Hour, true},
		{"idle past idle_timeout", func(c *web.Config) { c.Session.IdleTimeout = time.Hour }, 61 * time.Minute, false},
		{"used within idle_timeout", func(c *web.Config) { c.Session.IdleTimeout = time.Hour }, 59 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []option
			if tt.mod != nil {
				opts = append(opts, withWeb(tt.mod))
			}
			s := newStack(t, opts...)
			b := webtest.NewBrowser()
			login := b.MustGet(t, s.srv.URL+"/")
			b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
			s.clock.Advance(tt.advance)
			p := b.NoFollow().MustGet(t, s.srv.URL+"/")
			if sso := p.Status == http.StatusFound; sso != tt.ssoOK {
				t.Fatalf("after %v: status %d, want single sign-on %v", tt.advance, p.Status, tt.ssoOK)
			}
		})
	}
}

func TestSecretRotation(t *testing.T) {
	oldSecret, newSecret := strings.Repeat("o", 40), strings.Repeat("n", 40)
	s1 := newStack(t, withWeb(func(c *web.Config) { c.Session.Secret = oldSecret }))
	b := webtest.NewBrowser()
	login := b.MustGet(t, s1.srv.URL+"/")
	b.NoFollow().MustPostForm(t, s1.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	cookie := b.Cookie(s1.srv.URL, "qlikgate")

	visit := func(s *stack) int {
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/", nil)
		req.AddCookie(cookie)
		p, err := webtest.NewBrowser().NoFollow().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return p.Status
	}
	rotated := newStack(t, withWeb(func(c *web.Config) { c.Session.Secret, c.Session.PreviousSecrets = newSecret, []string{oldSecret} }))
	if st := visit(rotated); st != http.StatusFound {
		t.Errorf("a session from the previous secret: %d, want single sign-on (302)", st)
	}
	dropped := newStack(t, withWeb(func(c *web.Config) { c.Session.Secret = newSecret }))
	if st := visit(dropped); st != http.StatusOK {
		t.Errorf("a session from a dropped secret: %d, want the login page", st)
	}
}

// TestLogoutNeedsCSRF: a GET (a link or image on another site) only asks
// for confirmation; a POST without the session's token signs nobody out.
func TestLogoutNeedsCSRF(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	login := b.MustGet(t, s.srv.URL+"/")
	b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	signedIn := func() bool { return b.NoFollow().MustGet(t, s.srv.URL+"/").Status == http.StatusFound }

	if p := b.MustGet(t, s.srv.URL+"/logout"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="logout"`) {
		t.Fatalf("GET /logout: %d, want the confirmation form", p.Status)
	}
	if !signedIn() {
		t.Fatal("a GET signed the user out")
	}
	for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
		if p := b.MustPostForm(t, s.srv.URL+"/logout", form); p.Status != http.StatusForbidden {
			t.Fatalf("POST /logout with %v: %d, want 403", form, p.Status)
		}
	}
	if !signedIn() {
		t.Fatal("a POST without the token signed the user out")
	}
	if p := b.MustLogout(t, s.srv.URL+"/logout"); !strings.Contains(p.Body, "signed out") {
		t.Fatalf("confirmed logout: %d\n%s", p.Status, p.Body)
	}
	if signedIn() {
		t.Fatal("still signed in after the confirmed logout")
	}
}
