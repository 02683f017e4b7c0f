package ldap

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// dialCounter wraps the provider's dialer to count dials per address.
type dialCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func countDials(p *Provider) *dialCounter {
	dc := &dialCounter{n: map[string]int{}}
	next := p.dialContext
	p.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dc.mu.Lock()
		dc.n[addr]++
		dc.mu.Unlock()
		return next(ctx, network, addr)
	}
	return dc
}

func (dc *dialCounter) get(addr string) int {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	return dc.n[addr]
}

// fakeClock is a settable clock for the back-off.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestFailover: the first server is down, the second is used; the dead one is
// skipped while in back-off and tried again after it.
func TestFailover(t *testing.T) {
	s := needSlapd(t)
	dead, err := ldaptest.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) {
		c.URLs = []string{"ldap://" + dead, s.URL}
		c.PoolSize = 0 // every login dials, so the dial counts show the server choice
		c.ServerBackoff = time.Minute
	}))
	clock := &fakeClock{t: time.Now()}
	p.now = clock.now
	dials := countDials(p)
	login := func() {
		t.Helper()
		if id, err := p.Login(context.Background(), "alice", "alicepass"); err != nil || id.UserID != "alice" {
			t.Fatalf("Login = %q, %v", id.UserID, err)
		}
	}
	login()
	if got := dials.get(dead); got != 1 {
		t.Fatalf("dead server dialled %d times by the first login, want 1 (then in back-off)", got)
	}
	for range 3 {
		login()
	}
	if got := dials.get(dead); got != 1 {
		t.Errorf("dead server dialled %d times during its back-off, want still 1", got)
	}
	if got := dials.get(s.Addr); got != 8 {
		t.Errorf("live server dialled %d times, want 8 (search + bind for 4 logins)", got)
	}
	clock.add(time.Minute + time.Second)
	login()
	if got := dials.get(dead); got != 2 {
		t.Errorf("dead server dialled %d times after its back-off, want 2", got)
	}
}

// TestFailoverStuckServer: a first server that accepts connections but never
// answers costs one dial_timeout, then the second server answers.
func TestFailoverStuckServer(t *testing.T) {
	s := needSlapd(t)
	stuck := startProxy(t, s.Addr)
	stuck.SetMode(ldaptest.Hang)
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) {
		c.URLs = []string{stuck.URL, s.URL}
		c.DialTimeout, c.Timeout = 300*time.Millisecond, 3*time.Second
	}))
	start := time.Now()
	if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if d := time.Since(start); d >= 3*time.Second {
		t.Errorf("login took %s: the stuck server used up the whole timeout", d)
	}
	if stuck.Accepted() != 1 {
		t.Errorf("stuck server got %d connections, want 1 (then skipped)", stuck.Accepted())
	}
}

// TestServerStoppedMidRun: pooled connections die with the server; logins
// fail cleanly as unavailable, and work again once it is back.
func TestServerStoppedMidRun(t *testing.T) {
	s := needSlapd(t)
	proxy := startProxy(t, s.Addr)
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs = []string{proxy.URL}; c.ServerBackoff = time.Hour }))
	if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
		t.Fatal(err)
	}
	proxy.SetMode(ldaptest.Reset)
	_, err := p.Login(context.Background(), "alice", "alicepass")
	t.Log(err)
	if !errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrBadCredentials) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	proxy.SetMode(ldaptest.Forward)
	// The only server is in back-off, but a server in back-off is still
	// tried when no other is left.
	if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
		t.Fatalf("after the server came back: %v", err)
	}
}

// TestTimeout: a stuck server; the login returns when the request context is
// cancelled or the configured timeout passes, with ErrUnavailable.
func TestTimeout(t *testing.T) {
	s := needSlapd(t)
	stuck := startProxy(t, s.Addr)
	stuck.SetMode(ldaptest.Hang)
	t.Run("context cancelled", func(t *testing.T) {
		p, _ := openProvider(t, slapdConfig(s, func(c *Config) {
			c.URLs = []string{stuck.URL}
			c.DialTimeout, c.Timeout = 20*time.Second, 30*time.Second
		}))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := p.Login(ctx, "alice", "alicepass")
		t.Log(err)
		if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want ErrUnavailable and context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %s, long after the cancellation", d)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		// A stuck pooled connection: the server answered the service bind,
		// then hangs on the search.
		proxy := startProxy(t, s.Addr)
		p, _ := openProvider(t, slapdConfig(s, func(c *Config) {
			c.URLs = []string{proxy.URL}
			c.DialTimeout, c.Timeout = time.Second, 1500*time.Millisecond
		}))
		if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
			t.Fatal(err)
		}
		proxy.SetMode(ldaptest.Hang) // the pooled connections stop getting answers
		_, err := p.Login(context.Background(), "alice", "alicepass")
		t.Log(err)
		if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrUnavailable and context.DeadlineExceeded", err)
		}
	})
}

// TestCheck reports each server.
func TestCheck(t *testing.T) {
	s := needSlapd(t)
	dead, err := ldaptest.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs = []string{s.URL, "ldap://" + dead} }))
	st := p.Check(context.Background())
	if len(st) != 2 || st[0].Err != nil || st[1].Err == nil {
		t.Fatalf("Check = %+v, want the first OK and the second failing", st)
	}
	bad, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.BindPassword = "wrong" }))
	if st := bad.Check(context.Background()); st[0].Err == nil {
		t.Error("Check accepted a wrong bind_password")
	}
}
