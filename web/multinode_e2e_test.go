package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/sense"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// siteStack is qlikgate with one Sense target, "sense", in front of a
// simulated multi-node site.
type siteStack struct {
	site  *qliksim.Site
	srv   *httptest.Server
	logs  *testlog.Buffer
	clock *clock // qlikgate's
}

// siteTarget says which target kind the stack's "sense" target is.
type siteTarget struct {
	session  bool // sense-session, else sense-ticket
	allNodes bool // session_on_all_nodes
}

func newSiteStack(t *testing.T, so qliksim.SiteOptions, st siteTarget) *siteStack {
	t.Helper()
	so.Prefix, so.Logf = "hr", t.Logf
	site, err := qliksim.NewSite(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.Close)
	files, err := site.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	pw, err := static.HashPassword("alicepw", cheap)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := static.Open(context.Background(), providers.Common{ID: "local"}, &static.Config{Users: []static.User{
		{Username: "alice", PasswordHash: pw, Name: "Alice"},
	}}, providers.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	wc := web.DefaultConfig()
	wc.Server.PublicURL = "http://" + ts.Listener.Addr().String() + "/"
	wc.Session.Secret = strings.Repeat("s", 40)
	clk := &clock{t: time.Now()}

	cfg := sense.DefaultConfig()
	cfg.Nodes = site.ProxyRestURIs()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	cfg.HubURL = site.HubURL()
	var target qlik.Target
	kind := "sense-ticket"
	if st.session {
		kind = "sense-session"
		sc := &sense.SessionConfig{Config: *cfg, SessionCookieName: site.CookieName(), SessionOnAllNodes: st.allNodes}
		target, err = sense.OpenSession(context.Background(), qlik.Common{ID: "sense"}, sc, qlik.Env{PublicURL: wc.Server.PublicURL, Log: log})
	} else {
		target, err = sense.OpenTicket(context.Background(), qlik.Common{ID: "sense"}, cfg, qlik.Env{Log: log})
	}
	if err != nil {
		t.Fatal(err)
	}
	// Closed before the site (cleanups run last first): sense-session's
	// background retries stop, and log nothing after the test.
	if c, ok := target.(io.Closer); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	srv, err := web.New(web.Options{
		Config:        wc,
		Providers:     []web.Provider{{Common: providers.Common{ID: "local", Kind: "static", Label: "Local", Directory: "CORP"}, Impl: prov}},
		Targets:       []qlik.Target{target},
		DefaultTarget: "sense",
		Logger:        log,
		Now:           clk.Now,
		TargetKinds:   map[string]string{"sense": kind},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	site.SetModuleURL(ts.URL + "/")
	return &siteStack{site: site, srv: ts, logs: logs, clock: clk}
}

// login opens the hub through the front, signs in as alice and must land
// on the hub.
func (s *siteStack) login(t *testing.T, b *webtest.Browser) {
	t.Helper()
	hub := b.MustPostForm(t, s.srv.URL+"/login", s.loginForm(t, b))
	if hub.HubUser() != `CORP\alice` {
		t.Fatalf("after login: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
}

// loginForm opens the hub through the front, which must lead to the login
// page, and fills in alice's password.
func (s *siteStack) loginForm(t *testing.T, b *webtest.Browser) url.Values {
	t.Helper()
	p := b.MustGet(t, s.site.HubURL())
	if !p.IsLoginPage() {
		t.Fatalf("the hub did not lead to the login page: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	return p.MustLoginForm(t, "alice", "alicepw")
}

// bounces loads the hub n times and counts the loads that went back to
// qlikgate instead of showing the hub.
func (s *siteStack) bounces(t *testing.T, b *webtest.Browser, n int) int {
	t.Helper()
	// NoFollow: a bounce must be seen, not silently fixed by single sign-on.
	nf := b.NoFollow()
	bounced := 0
	for range n {
		p := nf.MustGet(t, s.site.HubURL())
		switch {
		case p.Status == http.StatusOK && p.HubUser() == `CORP\alice`:
		case p.Status == http.StatusFound && strings.HasPrefix(p.Header.Get("Location"), s.srv.URL):
			bounced++
		default:
			t.Fatalf("hub load: %d %s\n%s", p.Status, p.Header.Get("Location"), p.Body)
		}
	}
	return bounced
}

// TestSiteNonStickyFront: behind a round-robin front without stickiness,
// a session added to every node serves every hub load; the session on
// the named node alone (the control) sends loads back to qlikgate.
func TestSiteNonStickyFront(t *testing.T) {
	tests := []struct {
		name        string
		allNodes    bool
		wantBounces bool
	}{
		{"session_on_all_nodes", true, false},
		{"named node only", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSiteStack(t, qliksim.SiteOptions{Nodes: 3}, siteTarget{session: true, allNodes: tt.allNodes})
			b := webtest.NewBrowser()
			// Signed in, stopping at the redirect to the hub: every hub
			// load after it is counted.
			if p := b.NoFollow().MustPostForm(t, s.srv.URL+"/login", s.loginForm(t, b)); p.Status != http.StatusFound {
				t.Fatalf("login: %d\n%s", p.Status, p.Body)
			}
			got := s.bounces(t, b, 20)
			if (got > 0) != tt.wantBounces {
				t.Errorf("%d of 20 hub loads went back to qlikgate; want bounces: %v", got, tt.wantBounces)
			}
			if tt.allNodes {
				for i, n := range s.site.UserSessions("CORP", "alice") {
					if n != 1 {
						t.Errorf("node %d holds %d sessions of alice, want 1 (the same SessionId on every node)", i+1, n)
					}
				}
			}
		})
	}
}

// TestSiteNodeDown: with node 1 stopped, logins still land, through node
// 2: from the hub (Qlik names node 2) and straight at qlikgate (no node
// named: qlikgate fails over from node 1, then skips it while it rests).
func TestSiteNodeDown(t *testing.T) {
	for _, session := range []bool{false, true} {
		name := map[bool]string{false: "sense-ticket", true: "sense-session"}[session]
		t.Run(name, func(t *testing.T) {
			s := newSiteStack(t, qliksim.SiteOptions{Nodes: 2}, siteTarget{session: session})
			s.site.StopNode(0)
			direct := webtest.NewBrowser()
			p := direct.MustGet(t, s.srv.URL+"/")
			hub := direct.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "alicepw"))
			if hub.HubUser() != `CORP\alice` {
				t.Fatalf("login without a named node: %d %s\n%s", hub.Status, hub.URL, hub.Body)
			}
			if !strings.Contains(s.logs.String(), "QPS node failed, trying the next one") && !session {
				t.Error("no log line says node 1 failed and node 2 took over")
			}
			s.login(t, webtest.NewBrowser())
			if got := s.site.UserSessions("CORP", "alice"); got[1] != 2 {
				t.Errorf("sessions per node = %v, want both on node 2", got)
			}
			metrics := webtest.NewBrowser().MustGet(t, s.srv.URL+"/metrics").Body
			down := `qlikgate_qlik_node_up{node="` + s.site.Node(0).ProxyRestURI() + `",target="sense"} 0`
			up := `qlikgate_qlik_node_up{node="` + s.site.Node(1).ProxyRestURI() + `",target="sense"} 1`
			for _, want := range []string{down, up} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

// TestSiteLogoutEmptiesEveryNode: logout deletes the user's sessions on
// every node, not only on the one qlikgate last talked to.
func TestSiteLogoutEmptiesEveryNode(t *testing.T) {
	for _, session := range []bool{false, true} {
		name := map[bool]string{false: "sense-ticket", true: "sense-session"}[session]
		t.Run(name, func(t *testing.T) {
			// A ticket is redeemed only on the node that issued it: the
			// ticket flow needs a sticky front.
			s := newSiteStack(t, qliksim.SiteOptions{Nodes: 3, Sticky: !session}, siteTarget{session: session, allNodes: true})
			b := webtest.NewBrowser()
			s.login(t, b)
			// More browsers, which the front sends to other nodes.
			s.login(t, webtest.NewBrowser())
			s.login(t, webtest.NewBrowser())
			before := s.site.UserSessions("CORP", "alice")
			nonEmpty := 0
			for _, n := range before {
				if n > 0 {
					nonEmpty++
				}
			}
			if nonEmpty < 2 {
				t.Fatalf("sessions per node before logout = %v: the test needs sessions on several nodes", before)
			}
			b.MustLogout(t, s.srv.URL+"/logout")
			for i, n := range s.site.UserSessions("CORP", "alice") {
				if n != 0 {
					t.Errorf("node %d still holds %d sessions of alice after logout (before: %v)", i+1, n, before)
				}
			}
		})
	}
}

// TestSiteSingleSignOnReusesTheSession: fifty re-entries of one browser
// (Qlik sending it back, a portal link) leave one proxy session, not
// fifty: Qlik allows five per user.
func TestSiteSingleSignOnReusesTheSession(t *testing.T) {
	s := newSiteStack(t, qliksim.SiteOptions{Nodes: 3}, siteTarget{session: true, allNodes: true})
	b := webtest.NewBrowser()
	s.login(t, b)
	first := b.Cookie(s.site.HubURL(), s.site.CookieName())
	for i := range 50 {
		s.clock.Advance(3 * time.Second) // slower than a redirect loop
		hub := b.MustGet(t, s.srv.URL+"/t/sense/")
		if hub.HubUser() != `CORP\alice` {
			t.Fatalf("re-entry %d: %d %s\n%s", i+1, hub.Status, hub.URL, hub.Body)
		}
	}
	if got := s.site.CountedSessions("CORP", "alice"); got > 1 {
		t.Errorf("the site counts %d sessions of alice after 50 re-entries, want at most 1", got)
	}
	if now := b.Cookie(s.site.HubURL(), s.site.CookieName()); first == nil || now == nil || now.Value != first.Value {
		t.Fatal("the browser's proxy session cookie changed across re-entries")
	}
	if strings.Contains(s.logs.String(), first.Value) {
		t.Error("the proxy SessionId appears in qlikgate's log")
	}
	// Qlik forgot it (inactivity timeout, node restart): the next re-entry
	// makes a new one, and still only one counts.
	if _, err := b.Do(mustRequest(t, http.MethodDelete, s.site.HubURL()[:len(s.site.HubURL())-len("hub/")]+"qps/user")); err != nil {
		t.Fatal(err)
	}
	if hub := b.MustGet(t, s.srv.URL+"/t/sense/"); hub.HubUser() != `CORP\alice` {
		t.Fatalf("re-entry after Qlik ended the session: %d %s", hub.Status, hub.URL)
	}
	if got := s.site.CountedSessions("CORP", "alice"); got != 1 {
		t.Errorf("the site counts %d sessions of alice, want 1", got)
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestSiteSessionLimitPage: the sixth browser of one user gets a page that
// says why, in the browser's language, not a generic error.
func TestSiteSessionLimitPage(t *testing.T) {
	s := newSiteStack(t, qliksim.SiteOptions{Nodes: 2}, siteTarget{session: true, allNodes: true})
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { s.login(t, webtest.NewBrowser()) })
	}
	wg.Wait()
	tests := []struct{ lang, want string }{
		{"en", "only five sessions at a time"},
		{"de", "nur fünf gleichzeitige Sitzungen"},
		{"fr", "que cinq sessions simultanées"},
		{"es", "cinco sesiones simultáneas"},
		{"sv", "fem samtidiga sessioner"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			b := webtest.NewBrowser()
			req := mustRequest(t, http.MethodGet, s.site.HubURL())
			req.Header.Set("Accept-Language", tt.lang)
			p, err := b.Do(req)
			if err != nil || !p.IsLoginPage() {
				t.Fatalf("login page: %v %d", err, p.Status)
			}
			req, err = http.NewRequest(http.MethodPost, s.srv.URL+"/login", strings.NewReader(p.MustLoginForm(t, "alice", "alicepw").Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept-Language", tt.lang)
			page, err := b.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if page.Status != http.StatusTooManyRequests || !strings.Contains(page.Body, tt.want) {
				t.Errorf("sixth session: %d, want 429 with %q:\n%s", page.Status, tt.want, page.Message())
			}
		})
	}
	if got := s.site.CountedSessions("CORP", "alice"); got != 5 {
		t.Errorf("the site counts %d sessions, want 5 (the refused ones left nothing behind)", got)
	}
}

// TestSiteExpiryEndsTheSession: when the qlikgate sign-in expires, the
// proxy session qlikgate created for the browser is deleted on every node
// instead of counting against the user's five until Qlik times it out.
func TestSiteExpiryEndsTheSession(t *testing.T) {
	s := newSiteStack(t, qliksim.SiteOptions{Nodes: 2}, siteTarget{session: true, allNodes: true})
	b := webtest.NewBrowser()
	s.login(t, b)
	if got := s.site.UserSessions("CORP", "alice"); got[0] != 1 || got[1] != 1 {
		t.Fatalf("sessions per node after login = %v", got)
	}
	s.clock.Advance(web.DefaultConfig().Session.Lifetime + time.Minute)
	if p := b.MustGet(t, s.srv.URL+"/t/sense/"); !p.IsLoginPage() {
		t.Fatalf("after expiry: %d %s, want the login page", p.Status, p.URL)
	}
	if got := s.site.UserSessions("CORP", "alice"); got[0] != 0 || got[1] != 0 {
		t.Errorf("sessions per node after the sign-in expired = %v, want none", got)
	}
}
