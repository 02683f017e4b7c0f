package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/sense"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/redistest"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// pair is two qlikgate instances with session.store: redis in front of one
// simulated Qlik Sense site: what sits behind a load balancer. The
// browser's cookie jar does not separate ports, so, as behind a load
// balancer, one browser's cookie reaches both.
type pair struct {
	sim    *qliksim.Sense
	files  qliksim.Files
	a, b   *httptest.Server
	redis  *redistest.Server
	rdb    *redis.Client // to look into Redis
	clock  *clock
	logs   *testlog.Buffer
	config web.Config
	state  *web.State // of the instances built next; nil: each its own
}

func newPair(t *testing.T, mods ...func(*web.Config)) *pair {
	t.Helper()
	p := newSite(t)
	p.redis = redistest.Start(t)
	p.config.Session.Redis.URL = p.redis.URL
	for _, m := range mods {
		m(&p.config)
	}
	p.a = p.instance(t, "A", nil)
	p.b = p.instance(t, "B", nil)
	opts, err := redis.ParseURL(p.redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.rdb = redis.NewClient(opts)
	t.Cleanup(func() { p.rdb.Close() })
	return p
}

// newSite starts the simulated Qlik site; instances come after.
func newSite(t *testing.T) *pair {
	t.Helper()
	clk := &clock{t: time.Now()}
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr", Now: clk.Now, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	files, err := sim.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := web.DefaultConfig()
	cfg.Session.Secret = strings.Repeat("s", 40)
	cfg.Session.Store = "redis"
	cfg.Security.FailureDelay = 0
	return &pair{sim: sim, files: files, clock: clk, logs: &testlog.Buffer{}, config: cfg}
}

// instance starts one qlikgate with the pair's configuration; its log
// lines carry instance=name.
func (p *pair) instance(t *testing.T, name string, checks func(web.Config) []check.Subject) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.MultiWriter(p.logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug})).With("instance", name)
	h, err := static.HashPassword("alicepw", cheap)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := static.Open(context.Background(), providers.Common{ID: "local"}, &static.Config{Users: []static.User{{Username: "alice", PasswordHash: h}}}, providers.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	tc := sense.DefaultConfig()
	tc.ProxyRestURI, tc.HubURL = p.sim.ProxyRestURI(), p.sim.HubURL()
	tc.ClientCertFile, tc.ClientKeyFile, tc.RootCAFile = p.files.ClientCert, p.files.ClientKey, p.files.Root
	target, err := sense.OpenTicket(context.Background(), qlik.Common{ID: "sense"}, tc, qlik.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	cfg := p.config
	cfg.Server.PublicURL = "http://" + ts.Listener.Addr().String() + "/"
	o := web.Options{
		Config:        cfg,
		Providers:     []web.Provider{{Common: providers.Common{ID: "local", Kind: "static", Directory: "CORP"}, Impl: prov}},
		Targets:       []qlik.Target{target},
		DefaultTarget: "sense",
		Logger:        log,
		Now:           p.clock.Now,
		TargetKinds:   map[string]string{"sense": "sense-ticket"},
		State:         p.state,
	}
	if checks != nil {
		o.Checks = checks(cfg)
	}
	srv, err := web.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// Stopped, and waited for, before the server closes (cleanups run last
	// first): a readiness round cut short logs nothing after the test.
	t.Cleanup(srv.StartBackground(context.Background()))
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// hubVia opens the hub with b, Qlik sending browsers without a Qlik
// session to module.
func (p *pair) hubVia(t *testing.T, b *webtest.Browser, module *httptest.Server) webtest.Page {
	t.Helper()
	p.sim.SetModuleURL(module.URL + "/")
	return b.MustGet(t, p.sim.HubURL())
}

// sessionID is the Redis id in a browser's qlikgate cookie.
func sessionID(t *testing.T, c *http.Cookie) string {
	t.Helper()
	id, _, ok := strings.Cut(c.Value, ".")
	if !ok {
		t.Fatalf("cookie %q is not id.signature", c.Value)
	}
	return id
}

func (p *pair) exists(t *testing.T, key string) bool {
	t.Helper()
	n, err := p.rdb.Exists(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// withQlikgateCookie is a new browser holding only c: Qlik's session gone,
// qlikgate's still there.
func withQlikgateCookie(p *pair, c *http.Cookie) *webtest.Browser {
	b := webtest.NewBrowser()
	u, _ := url.Parse(p.a.URL) // the jar sends it to B's port too
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
	return b
}

func TestRedisSignInOnOneInstanceSignOutOnTheOther(t *testing.T) {
	p := newPair(t)
	b := webtest.NewBrowser()
	login := p.hubVia(t, b, p.a)
	if !login.IsLoginPage() || !strings.HasPrefix(login.URL.String(), p.a.URL) {
		t.Fatalf("the hub did not lead to A's login page: %s\n%s", login.URL, login.Body)
	}
	if hub := b.MustPostForm(t, p.a.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("login on A failed: %d\n%s", hub.Status, hub.Body)
	}
	cookie := b.Cookie(p.a.URL, "qlikgate")
	key := "qlikgate:session:" + sessionID(t, cookie)
	ttl, err := p.rdb.TTL(context.Background(), key).Result()
	if err != nil || ttl <= 7*time.Hour || ttl > 8*time.Hour {
		t.Errorf("the session's time to live is %v (%v), want the 8h lifetime", ttl, err)
	}

	// Qlik's session ends and it sends the browser to B: single sign-on.
	other := withQlikgateCookie(p, cookie)
	if hub := p.hubVia(t, other, p.b); hub.HubUser() != `CORP\alice` {
		t.Fatalf("B did not pass the signed-in browser through: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	if !strings.Contains(p.logs.String(), `msg="handed off to Qlik" instance=B`) {
		t.Error("B logged no hand-off")
	}

	// Signing out on B ends the session for both.
	if out := other.MustLogout(t, p.b.URL+"/logout"); out.Status != http.StatusOK || !strings.Contains(out.Body, "signed out") {
		t.Fatalf("logout on B: %d\n%s", out.Status, out.Body)
	}
	if p.exists(t, key) {
		t.Error("the session is still in Redis after logout")
	}
	for name, srv := range map[string]*httptest.Server{"A": p.a, "B": p.b} {
		// The first browser still holds the cookie it signed in with.
		pg := b.NoFollow().MustGet(t, srv.URL+"/")
		if pg.Status != http.StatusOK || !pg.IsLoginPage() {
			t.Errorf("%s after logout on B: %d, want the login page\n%s", name, pg.Status, pg.Body)
		}
	}
}

func TestRedisSessionIDRenewedAtSignIn(t *testing.T) {
	p := newPair(t)
	b := webtest.NewBrowser()
	login := p.hubVia(t, b, p.a)
	before := b.Cookie(p.a.URL, "qlikgate")
	oldKey := "qlikgate:session:" + sessionID(t, before)
	if !p.exists(t, oldKey) {
		t.Fatal("the pending sign-in is not in Redis")
	}
	ttl, _ := p.rdb.TTL(context.Background(), oldKey).Result()
	if ttl <= 0 || ttl > 30*time.Minute {
		t.Errorf("a browser that has not signed in is kept %v, want at most the 30m a pending entry waits", ttl)
	}
	// The load balancer sends the form to B: the flow and CSRF token are shared.
	if hub := b.MustPostForm(t, p.b.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("login on B with A's form failed: %d\n%s", hub.Status, hub.Body)
	}
	after := b.Cookie(p.a.URL, "qlikgate")
	if sessionID(t, after) == sessionID(t, before) {
		t.Fatal("the session id did not change at sign-in")
	}
	if p.exists(t, oldKey) {
		t.Error("the pre-login session is still in Redis")
	}
	for name, srv := range map[string]*httptest.Server{"A": p.a, "B": p.b} {
		planted := withQlikgateCookie(p, before)
		if pg := planted.NoFollow().MustGet(t, srv.URL+"/"); !pg.IsLoginPage() {
			t.Errorf("%s: the pre-login cookie is signed in: %d\n%s", name, pg.Status, pg.Body)
		}
	}
	// A forged id (right shape, wrong signature) is not even looked up.
	forged := withQlikgateCookie(p, &http.Cookie{Name: "qlikgate", Value: sessionID(t, after) + ".AAAA"})
	if pg := forged.NoFollow().MustGet(t, p.a.URL+"/"); !pg.IsLoginPage() {
		t.Errorf("an unsigned id is accepted: %d", pg.Status)
	}
}

func TestRedisThrottlingShared(t *testing.T) {
	p := newPair(t, func(c *web.Config) { c.Security.MaxAttempts = 3 })
	b := webtest.NewBrowser()
	pg := p.hubVia(t, b, p.a)
	for i, srv := range []*httptest.Server{p.a, p.b, p.a} {
		pg = b.MustPostForm(t, srv.URL+"/login", pg.MustLoginForm(t, "alice", "wrong"))
		if pg.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d\n%s", i+1, pg.Status, pg.Body)
		}
	}
	// Three failures spread over A and B: B throttles even the right password.
	pg = b.MustPostForm(t, p.b.URL+"/login", pg.MustLoginForm(t, "alice", "alicepw"))
	if pg.Status != http.StatusTooManyRequests {
		t.Fatalf("4th attempt on B: %d, want 429\n%s", pg.Status, pg.Body)
	}
	keys, err := p.rdb.Keys(context.Background(), "qlikgate:throttle:*").Result()
	if err != nil || len(keys) != 4 { // user and address, times and count each
		t.Fatalf("throttle keys %v (%v), want 4", keys, err)
	}
	for _, k := range keys {
		if ttl, _ := p.rdb.TTL(context.Background(), k).Result(); ttl <= 0 || ttl > p.config.Security.Lockout {
			t.Errorf("%s expires in %v, want within lockout %v", k, ttl, p.config.Security.Lockout)
		}
	}
	// The lockout passes on both instances' clock.
	p.clock.Advance(p.config.Security.Lockout + time.Second)
	if pg = b.MustPostForm(t, p.a.URL+"/login", pg.MustLoginForm(t, "alice", "alicepw")); pg.HubUser() != `CORP\alice` {
		t.Fatalf("after the lockout: %d\n%s", pg.Status, pg.Body)
	}
}

func TestRedisDownWhileRunning(t *testing.T) {
	p := newPair(t)
	b := webtest.NewBrowser()
	login := p.hubVia(t, b, p.a)
	if hub := b.MustPostForm(t, p.a.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("login failed: %d", hub.Status)
	}
	p.redis.Stop()

	start := time.Now()
	pg := b.NoFollow().MustGet(t, p.b.URL+"/")
	if pg.Status != http.StatusOK || !pg.IsLoginPage() {
		t.Fatalf("with Redis down: %d, want the login page\n%s", pg.Status, pg.Body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the login page took %v with Redis down", d)
	}
	// The form cannot be matched to a session: refused, not a crash.
	if pg = b.MustPostForm(t, p.b.URL+"/login", pg.MustLoginForm(t, "alice", "alicepw")); pg.Status != http.StatusForbidden {
		t.Errorf("login with Redis down: %d, want 403 (the form's session is unknown)", pg.Status)
	}
	logs := p.logs.String()
	for _, want := range []string{"event=session_store_failed", "event=session_save_failed", "connection refused"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	if strings.Contains(logs, "event=panic") {
		t.Error("a request panicked")
	}
}

func TestRedisDownAtStart(t *testing.T) {
	p := newSite(t)
	addr, err := redistest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p.config.Session.Redis.URL = "redis://" + addr + "/0"
	p.config.Server.ReadinessInterval = 10 * time.Second
	a := p.instance(t, "A", func(c web.Config) []check.Subject { return web.SessionStoreChecks(c.Session) })
	if !strings.Contains(p.logs.String(), "event=redis_unavailable") {
		t.Error("no redis_unavailable line at start")
	}
	if pg := webtest.NewBrowser().MustGet(t, a.URL+"/"); pg.Status != http.StatusOK || !pg.IsLoginPage() {
		t.Errorf("with Redis down: %d, want the login page", pg.Status)
	}
	var pg webtest.Page
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if pg = webtest.NewBrowser().MustGet(t, a.URL+"/readyz"); !strings.Contains(pg.Body, "starting") {
			break
		}
	}
	if pg.Status != http.StatusServiceUnavailable || !strings.Contains(pg.Body, `"subject":"session.redis"`) || !strings.Contains(pg.Body, "connection refused") {
		t.Errorf("/readyz with Redis down: %d\n%s", pg.Status, pg.Body)
	}
}
