package ldap

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// binds counts the binds recorded by a proxy: as the service account and as anyone else.
func binds(conns [][]ldaptest.Op, serviceDN string) (service, users int) {
	for _, ops := range conns {
		for _, op := range ops {
			if op.Kind == "bind" {
				if op.DN == serviceDN {
					service++
				} else {
					users++
				}
			}
		}
	}
	return service, users
}

// TestPoolReuse: with pooling, 20 logins use one search connection (one
// service bind) and one bind connection; without, each login opens both.
func TestPoolReuse(t *testing.T) {
	s := needSlapd(t)
	for _, tt := range []struct {
		pool                  int
		wantConns, wantSvcBnd int
	}{
		{pool: 4, wantConns: 2, wantSvcBnd: 1},
		{pool: 0, wantConns: 40, wantSvcBnd: 20},
	} {
		t.Run(fmt.Sprintf("pool_size %d", tt.pool), func(t *testing.T) {
			proxy := startProxy(t, s.Addr)
			p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs, c.PoolSize = []string{proxy.URL}, tt.pool }))
			for i := range 20 {
				if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
					t.Fatalf("login %d: %v", i, err)
				}
			}
			svc, users := binds(proxy.Conns(), s.BindDN)
			if got := proxy.Accepted(); got != tt.wantConns || svc != tt.wantSvcBnd || users != 20 {
				t.Errorf("connections %d, service binds %d, user binds %d; want %d, %d, 20", got, svc, users, tt.wantConns, tt.wantSvcBnd)
			}
		})
	}
}

// TestConcurrentLogins runs different users in parallel (run it with -race)
// and checks that identities never mix, and on the wire that no connection
// ever searches after a user bind: search connections carry only the
// service bind, bind connections carry only user binds.
func TestConcurrentLogins(t *testing.T) {
	s := needSlapd(t)
	proxy := startProxy(t, s.Addr)
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs, c.PoolSize = []string{proxy.URL}, 3 }))
	users := map[string][]string{
		"alice": {"admins", "users"}, "bob": {"users"}, "carol": nil, "dave": {"dev"}, "erin": {"cycle-a"},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for user, groups := range users {
		for i := range 8 {
			wg.Go(func() {
				pw := user + "pass"
				if i%4 == 3 {
					pw = "wrong" // refused logins interleave with good ones
				}
				id, err := p.Login(context.Background(), user, pw)
				switch {
				case pw == "wrong" && err == nil:
					errs <- fmt.Errorf("%s logged in with a wrong password", user)
				case pw == "wrong":
				case err != nil:
					errs <- fmt.Errorf("%s: %v", user, err)
				case id.UserID != user || id.Subject != s.DN(user) || !slices.Equal(id.Groups, groups):
					errs <- fmt.Errorf("%s got identity %+v", user, id)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, ops := range proxy.Conns() {
		if len(ops) == 0 {
			continue
		}
		if ops[0].Kind == "bind" && ops[0].DN == s.BindDN {
			for _, op := range ops[1:] {
				if op.Kind == "bind" {
					t.Errorf("connection %d: a bind as %q on a search connection", i, op.DN)
				}
			}
			continue
		}
		for _, op := range ops {
			if op.Kind != "bind" && op.Kind != "unbind" || op.DN == s.BindDN {
				t.Errorf("connection %d: %+v on a user-bind connection", i, op)
			}
		}
	}
	if n := proxy.Accepted(); n > 6 {
		t.Errorf("%d connections for pool_size 3, want at most 6 (3 search + 3 bind)", n)
	}
}

// TestPoolIdleTimeout: connections idle longer than pool_idle_timeout are
// not reused.
func TestPoolIdleTimeout(t *testing.T) {
	s := needSlapd(t)
	proxy := startProxy(t, s.Addr)
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs, c.PoolIdleTimeout = []string{proxy.URL}, time.Minute }))
	clock := &fakeClock{t: time.Now()}
	p.now = clock.now
	for range 2 {
		if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
			t.Fatal(err)
		}
	}
	if n := proxy.Accepted(); n != 2 {
		t.Fatalf("%d connections before the idle timeout, want 2", n)
	}
	clock.add(2 * time.Minute)
	if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
		t.Fatal(err)
	}
	if n := proxy.Accepted(); n != 4 {
		t.Errorf("%d connections after the idle timeout, want 4 (both pooled ones replaced)", n)
	}
}

// TestPoolSurvivesDroppedConnections: the server (or a firewall) drops idle
// pooled connections; the next login opens new ones without failing.
func TestPoolSurvivesDroppedConnections(t *testing.T) {
	s := needSlapd(t)
	proxy := startProxy(t, s.Addr)
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs = []string{proxy.URL} }))
	if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
		t.Fatal(err)
	}
	proxy.SetMode(ldaptest.Reset) // drops the open connections
	proxy.SetMode(ldaptest.Forward)
	if id, err := p.Login(context.Background(), "bob", "bobpass"); err != nil || id.UserID != "bob" {
		t.Fatalf("login after the pooled connections were dropped: %q, %v", id.UserID, err)
	}
}
