package sense

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// siteSessionTarget is a sense-session target over every node of a
// simulated site, with quick background retries.
func siteSessionTarget(t *testing.T, nodes int) (*qliksim.Site, *SessionTarget) {
	t.Helper()
	site, err := qliksim.NewSite(qliksim.SiteOptions{Nodes: nodes, Prefix: "hr", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.Close)
	files, err := site.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := &SessionConfig{Config: *DefaultConfig(), SessionCookieName: site.CookieName()}
	cfg.Nodes = site.ProxyRestURIs()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	cfg.HubURL = site.HubURL()
	tgt, err := OpenSession(context.Background(), qlik.Common{ID: "session"}, cfg, qlik.Env{PublicURL: "http://127.0.0.1:1/", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tgt.retries.delays = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}
	t.Cleanup(func() { _ = tgt.Close() })
	return site, tgt
}

// waitSessions waits until the nodes hold want sessions of alice each.
func waitSessions(t *testing.T, site *qliksim.Site, want []int) {
	t.Helper()
	var got []int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got = site.UserSessions(alice.Directory, alice.UserID)
		if equalInts(got, want) {
			return
		}
	}
	t.Fatalf("sessions per node = %v, want %v", got, want)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSessionRetriedOnAFailingNode: a node that answered 503 at the
// hand-off gets the session in the background once it recovers.
func TestSessionRetriedOnAFailingNode(t *testing.T) {
	site, tgt := siteSessionTarget(t, 2)
	site.Node(1).SetFailing(true)
	h, err := tgt.Login(context.Background(), alice, qlik.Entry{})
	if err != nil {
		t.Fatalf("login with one node failing: %v", err)
	}
	if h.Keep == "" {
		t.Error("the hand-off keeps no session id for the browser")
	}
	waitSessions(t, site, []int{1, 0})
	site.Node(1).SetFailing(false)
	waitSessions(t, site, []int{1, 1})
}

// TestLogoutCancelsRetries: a retry waiting for a failing node must not
// bring a session back after the user logged out.
func TestLogoutCancelsRetries(t *testing.T) {
	site, tgt := siteSessionTarget(t, 2)
	tgt.retries.delays = []time.Duration{200 * time.Millisecond}
	site.Node(1).SetFailing(true)
	if _, err := tgt.Login(context.Background(), alice, qlik.Entry{}); err != nil {
		t.Fatal(err)
	}
	site.Node(1).SetFailing(false)
	if _, err := tgt.Logout(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if got := site.UserSessions(alice.Directory, alice.UserID); !equalInts(got, []int{0, 0}) {
		t.Errorf("sessions per node after logout = %v, want none", got)
	}
}

// TestCloseWaitsForRetries: once Close returns, no retry of the closed
// target calls a node: a reload's old target must not bring a session
// back, nor log, after the new one took over.
func TestCloseWaitsForRetries(t *testing.T) {
	site, tgt := siteSessionTarget(t, 2)
	tgt.retries.delays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}
	site.Node(1).SetFailing(true)
	if _, err := tgt.Login(context.Background(), alice, qlik.Entry{}); err != nil {
		t.Fatal(err)
	}
	if err := tgt.Close(); err != nil {
		t.Fatal(err)
	}
	tgt.retries.mu.Lock()
	waiting := tgt.retries.n
	tgt.retries.mu.Unlock()
	if waiting != 0 {
		t.Fatalf("%d retries still run after Close returned", waiting)
	}
	site.Node(1).SetFailing(false)
	// A hand-off after Close schedules no retry either.
	site.Node(1).SetFailing(true)
	if _, err := tgt.Login(context.Background(), alice, qlik.Entry{}); err != nil {
		t.Fatal(err)
	}
	site.Node(1).SetFailing(false)
	time.Sleep(50 * time.Millisecond)
	if got := site.UserSessions(alice.Directory, alice.UserID); got[1] != 0 {
		t.Errorf("node 2 holds %d sessions: a retry ran after Close", got[1])
	}
}

// TestNamedNodeMustAccept: when Qlik named the node, the hand-off fails
// if that node refused, even though another accepted, and the other is
// cleaned up so no orphan counts against the limit.
func TestNamedNodeMustAccept(t *testing.T) {
	site, tgt := siteSessionTarget(t, 2)
	tgt.allNodes = true
	site.Node(0).SetFailing(true)
	e, err := tgt.ParseEntry(map[string][]string{"proxyRestUri": {site.ProxyRestURIs()[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tgt.Login(context.Background(), alice, e); err == nil {
		t.Fatal("the hand-off succeeded although the named node refused")
	}
	if got := site.UserSessions(alice.Directory, alice.UserID); !equalInts(got, []int{0, 0}) {
		t.Errorf("sessions per node = %v, want none left behind", got)
	}
}

// TestKeptSessionOfAnotherUser: a browser whose kept session belongs to
// someone else (it signed in as another user since) gets a new session,
// and the old one is deleted.
func TestKeptSessionOfAnotherUser(t *testing.T) {
	site, tgt := siteSessionTarget(t, 1)
	h, err := tgt.Login(context.Background(), alice, qlik.Entry{})
	if err != nil {
		t.Fatal(err)
	}
	bob := qlik.User{Directory: "CORP", UserID: "bob"}
	h2, err := tgt.Login(context.Background(), bob, qlik.Entry{Kept: h.Keep})
	if err != nil {
		t.Fatal(err)
	}
	if h2.Keep == h.Keep {
		t.Fatal("bob was handed alice's proxy session")
	}
	if got := site.UserSessions(alice.Directory, alice.UserID); got[0] != 0 {
		t.Errorf("alice's old session survived: %v", got)
	}
	// A kept value that is not an id qlikgate makes never reaches a QPS path.
	if h3, err := tgt.Login(context.Background(), bob, qlik.Entry{Kept: "../user/CORP/alice"}); err != nil || h3.Keep == "../user/CORP/alice" {
		t.Errorf("malformed kept id: %v, %q", err, h3.Keep)
	}
}
