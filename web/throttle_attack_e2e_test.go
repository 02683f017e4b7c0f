package web_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/redistest"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// These tests attack a running qlikgate over HTTP the way the independent
// attack run did, with slapd behind a recording proxy, and count the user
// binds that reach the directory: that count is what Active Directory
// locks accounts on.

// throttleStores runs a test with the memory store and with Redis.
var throttleStores = map[string]func(t *testing.T) func(*web.Config){
	"memory": func(*testing.T) func(*web.Config) { return func(*web.Config) {} },
	"redis": func(t *testing.T) func(*web.Config) {
		r := redistest.Start(t)
		return func(c *web.Config) { c.Session.Store, c.Session.Redis.URL = "redis", r.URL }
	},
}

// ldapBehindProxy is slapd behind a proxy that records every request.
func ldapBehindProxy(t *testing.T) (*ldaptest.Slapd, *ldaptest.Proxy) {
	t.Helper()
	sl := needSlapd(t)
	proxy, err := ldaptest.StartProxy(sl.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return sl, proxy
}

// userBinds counts the binds as dn the proxy saw.
func userBinds(p *ldaptest.Proxy, dn string) int {
	n := 0
	for _, conn := range p.Conns() {
		for _, op := range conn {
			if op.Kind == "bind" && strings.EqualFold(op.DN, dn) {
				n++
			}
		}
	}
	return n
}

// loginForm opens a fresh login page and fills it for provider corp.
func loginForm(t *testing.T, s *stack, b *webtest.Browser, user, pw string) url.Values {
	t.Helper()
	f := s.openHub(t, b, "").MustLoginForm(t, user, pw)
	f.Set("provider", "corp")
	return f
}

// TestParallelWrongPasswordsMeetTheLimit: 25 wrong passwords for one user
// from one address, all at once. At most max_attempts of them may reach
// the directory; the rest are throttled. Before attempts were reserved
// atomically, all 25 reached it.
func TestParallelWrongPasswordsMeetTheLimit(t *testing.T) {
	for name, store := range throttleStores {
		t.Run(name, func(t *testing.T) {
			sl, proxy := ldapBehindProxy(t)
			s := newStack(t, withLDAP(sl, proxy.URL), withWeb(store(t)), withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }))
			const attackers = 25
			forms := make([]url.Values, attackers)
			browsers := make([]*webtest.Browser, attackers)
			for i := range attackers {
				browsers[i] = webtest.NewBrowser()
				forms[i] = loginForm(t, s, browsers[i], "erin", fmt.Sprintf("wrong-%d", i))
			}
			proxy.ClearLog()
			start := make(chan struct{})
			statuses := make([]int, attackers)
			var wg sync.WaitGroup
			for i := range attackers {
				wg.Go(func() {
					<-start
					p, err := browsers[i].PostForm(s.srv.URL+"/login", forms[i])
					if err != nil {
						t.Error(err)
						return
					}
					statuses[i] = p.Status
				})
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, st := range statuses {
				count[st]++
			}
			if binds := userBinds(proxy, sl.DN("erin")); binds > 5 {
				t.Errorf("%d binds as erin reached the directory with max_attempts 5 (statuses %v)", binds, count)
			}
			if count[http.StatusUnauthorized] > 5 || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != attackers {
				t.Errorf("statuses %v: want at most 5 × 401 and the rest 429", count)
			}
		})
	}
}

// TestSpellingsOfOneUserShareOneLimit: erin, CORP\erin, corp\erin,
// EXAMPLE\erin, erin@example.org, X\erin and erin@x all aim at the one
// account erin. Together they get max_attempts binds, not five each, and
// a foreign domain or realm never signs in, even with the right password.
func TestSpellingsOfOneUserShareOneLimit(t *testing.T) {
	sl, proxy := ldapBehindProxy(t)
	stripRealm := func(c *ldap.Config) { c.Username.StripRealm = true }
	s := newStack(t, withLDAP(sl, proxy.URL, stripRealm), withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }))

	for _, foreign := range []string{`X\erin`, "erin@x", `X\erin@example.org`} {
		b := webtest.NewBrowser()
		if p := b.MustPostForm(t, s.srv.URL+"/login", loginForm(t, s, b, foreign, "erinpass")); p.Status != http.StatusUnauthorized || p.HubUser() != "" {
			t.Errorf("%s with the right password: %d, hub user %q; want 401", foreign, p.Status, p.HubUser())
		}
	}
	if n := strings.Count(s.logs.String(), "reason=foreign_domain"); n != 3 {
		t.Errorf("%d login_failed lines with reason=foreign_domain, want 3", n)
	}
	proxy.ClearLog()
	// The three refusals counted against erin: two more tries are left.
	spellings := []string{"erin", `CORP\erin`, `corp\erin`, `EXAMPLE\erin`, "erin@example.org", "ERIN", `X\erin`, "erin@x"}
	statuses := map[int]int{}
	for _, u := range spellings {
		b := webtest.NewBrowser()
		statuses[b.MustPostForm(t, s.srv.URL+"/login", loginForm(t, s, b, u, "wrong")).Status]++
	}
	if binds := userBinds(proxy, sl.DN("erin")); binds != 2 {
		t.Errorf("%d binds as erin after three refused foreign spellings, want the 2 left of max_attempts 5", binds)
	}
	if statuses[http.StatusUnauthorized] != 2 || statuses[http.StatusTooManyRequests] != len(spellings)-2 {
		t.Errorf("statuses %v: want 2 × 401, then 429 for every spelling", statuses)
	}
}

// TestAliasesOfOneAccountShareOneLimit: a user filter that finds erin by
// uid or by mail gives one account two names the throttle cannot know are
// the same until the directory says so. The account itself is counted,
// right before the bind.
func TestAliasesOfOneAccountShareOneLimit(t *testing.T) {
	sl, proxy := ldapBehindProxy(t)
	byMail := func(c *ldap.Config) {
		c.UserFilter = "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))"
	}
	s := newStack(t, withLDAP(sl, proxy.URL, byMail), withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }))
	proxy.ClearLog()
	b := webtest.NewBrowser()
	for i := range 5 {
		if p := b.MustPostForm(t, s.srv.URL+"/login", loginForm(t, s, b, "erin", "wrong")); p.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d as erin: %d", i+1, p.Status)
		}
	}
	p := b.MustPostForm(t, s.srv.URL+"/login", loginForm(t, s, b, "erin@example.org", "wrong"))
	if p.Status != http.StatusTooManyRequests {
		t.Errorf("erin's mail address after five failures as erin: %d, want 429", p.Status)
	}
	if binds := userBinds(proxy, sl.DN("erin")); binds != 5 {
		t.Errorf("%d binds as erin, want 5", binds)
	}
	// A success under one name forgets the failures of the account.
	s.clock.Advance(10*time.Minute + time.Second)
	if p := b.MustPostForm(t, s.srv.URL+"/login", loginForm(t, s, b, "erin@example.org", "erinpass")); p.HubUser() != `CORP\erin` {
		t.Fatalf("after the lockout, the right password by mail: %d %q", p.Status, p.Message())
	}
}

// slowProvider is a directory that takes its time to answer.
type slowProvider struct {
	providers.PasswordProvider
	delay time.Duration
}

func (p slowProvider) Login(ctx context.Context, username, password string) (providers.Identity, error) {
	time.Sleep(p.delay)
	return p.PasswordProvider.Login(ctx, username, password)
}

// TestClientThatHangsUpIsCounted: an attacker posts a guess and closes the
// connection at once, before the answer. The guess still reached the
// directory, so it must count, with either store.
func TestClientThatHangsUpIsCounted(t *testing.T) {
	for name, store := range throttleStores {
		t.Run(name, func(t *testing.T) {
			s := newStack(t, withWeb(store(t)), withWeb(func(c *web.Config) { c.Security.FailureDelay = 0 }),
				withProvider(func(t testing.TB, _ string, log *slog.Logger) web.Provider {
					h, err := static.HashPassword("alicepw", cheap)
					if err != nil {
						t.Fatal(err)
					}
					common := providers.Common{ID: "corp", Kind: "static", Directory: "CORP"}
					p, err := static.Open(context.Background(), common, &static.Config{Users: []static.User{{Username: "alice", PasswordHash: h}}}, providers.Env{Log: log})
					if err != nil {
						t.Fatal(err)
					}
					return web.Provider{Common: common, Impl: slowProvider{PasswordProvider: p, delay: 200 * time.Millisecond}}
				}))
			b := webtest.NewBrowser()
			u, _ := url.Parse(s.srv.URL)
			for i := range 5 {
				hangUp(t, u.Host, loginForm(t, s, b, "alice", fmt.Sprintf("wrong-%d", i)), b.Cookie(s.srv.URL, "qlikgate"))
			}
			// Let the handlers finish the guesses they were sent.
			time.Sleep(500 * time.Millisecond)
			p := b.MustPostForm(t, s.srv.URL+"/login", loginForm(t, s, b, "alice", "alicepw"))
			if p.Status != http.StatusTooManyRequests {
				t.Fatalf("after five guesses whose clients hung up, the right password: %d, want 429", p.Status)
			}
		})
	}
}

// hangUp sends a login POST on a raw connection and closes it without
// reading the answer.
func hangUp(t *testing.T, host string, form url.Values, session *http.Cookie) {
	t.Helper()
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	body := form.Encode()
	w := bufio.NewWriter(c)
	fmt.Fprintf(w, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nCookie: %s\r\n\r\n%s",
		host, len(body), session.Name+"="+session.Value, body)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	c.Close()
}
