package qliksim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newSite(t *testing.T, opts SiteOptions) (*Site, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Now()}
	opts.Now, opts.Logf, opts.ModuleURL = clock.Now, t.Logf, testModule
	s, err := NewSite(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, clock
}

// addSession posts session id for alice to node i and returns the status.
func addSession(t *testing.T, s *Site, i int, id string) response {
	t.Helper()
	n := s.Node(i)
	return qps(t, n, qpsClient(t, n), http.MethodPost, "session",
		fmt.Sprintf(`{"UserDirectory":"CORP","UserId":"alice","SessionId":%q}`, id))
}

// TestSiteNodesAreSeparate: each node has its own session table and its
// own proxyRestUri; a session of node 1 is unknown to node 2.
func TestSiteNodesAreSeparate(t *testing.T) {
	s, _ := newSite(t, SiteOptions{Nodes: 2})
	if a, b := s.ProxyRestURIs()[0], s.ProxyRestURIs()[1]; a == b {
		t.Fatalf("both nodes have proxyRestUri %s", a)
	}
	if r := addSession(t, s, 0, "s1"); r.status != http.StatusCreated {
		t.Fatalf("POST session: %d %s", r.status, r.body)
	}
	n2 := s.Node(1)
	if r := qps(t, n2, qpsClient(t, n2), http.MethodGet, "session/s1", ""); r.status != http.StatusNotFound {
		t.Errorf("node 2 knows node 1's session: %d", r.status)
	}
	// Through the front, node 2 sends a browser with node 1's cookie to the module.
	c := browser(t, n2)
	seen := map[string]bool{}
	for range 4 {
		r := do(t, c, http.MethodGet, s.HubURL(), "", cookieHeader(n2, "s1"))
		if r.status == http.StatusFound {
			q, _ := url.ParseQuery(strings.SplitN(r.header.Get("Location"), "?", 2)[1])
			seen[q.Get("proxyRestUri")] = true
		}
	}
	if !seen[s.ProxyRestURIs()[1]] || len(seen) != 1 {
		t.Errorf("a non-sticky front sent the browser to the module from %v, want node 2's proxyRestUri only", seen)
	}
}

// TestSiteStickyFront pins a browser to the node it first reached.
func TestSiteStickyFront(t *testing.T) {
	for _, sticky := range []bool{false, true} {
		t.Run(fmt.Sprint("sticky=", sticky), func(t *testing.T) {
			s, _ := newSite(t, SiteOptions{Nodes: 3, Sticky: sticky})
			c := browser(t, s.Node(0))
			var pin *http.Cookie
			nodes := map[string]bool{}
			for range 6 {
				h := http.Header{}
				if pin != nil {
					h.Set("Cookie", pin.Name+"="+pin.Value)
				}
				r := do(t, c, http.MethodGet, s.HubURL(), "", h)
				loc, _ := url.Parse(r.header.Get("Location"))
				nodes[loc.Query().Get("proxyRestUri")] = true
				for _, line := range r.header.Values("Set-Cookie") {
					if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == frontCookie {
						pin = ck
					}
				}
			}
			if want := map[bool]int{false: 3, true: 1}[sticky]; len(nodes) != want {
				t.Errorf("the browser reached %d nodes, want %d", len(nodes), want)
			}
		})
	}
}

// TestSiteSessionLimit: the sixth parallel session of a user is refused
// with Qlik's text, whichever node it is asked of; an ended session frees
// its place only after the cooldown.
func TestSiteSessionLimit(t *testing.T) {
	s, clock := newSite(t, SiteOptions{Nodes: 2})
	for i := range 5 {
		if r := addSession(t, s, i%2, fmt.Sprint("s", i)); r.status != http.StatusCreated {
			t.Fatalf("session %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := addSession(t, s, 1, "s5")
	if r.status != http.StatusForbidden || r.body != SessionLimitMessage {
		t.Fatalf("sixth session: %d %q, want 403 with Qlik's denial", r.status, r.body)
	}
	// The same id on another node is the same session.
	if r := addSession(t, s, 1, "s0"); r.status != http.StatusCreated {
		t.Errorf("s0 on node 2: %d %s, want the same session accepted", r.status, r.body)
	}
	n1 := s.Node(0)
	if r := qps(t, n1, qpsClient(t, n1), http.MethodDelete, "session/s2", ""); r.status != http.StatusOK {
		t.Fatalf("DELETE: %d", r.status)
	}
	if r := addSession(t, s, 0, "s6"); r.status != http.StatusForbidden {
		t.Errorf("right after one ended at the limit: %d, want 403 during the cooldown", r.status)
	}
	clock.Advance(5 * time.Minute)
	if r := addSession(t, s, 0, "s6"); r.status != http.StatusCreated {
		t.Errorf("after the cooldown: %d %s", r.status, r.body)
	}
	if s.Denials() != 2 {
		t.Errorf("denials = %d, want 2", s.Denials())
	}
}

// TestSiteCountingSwitches: Qlik does not say whether one SessionId on N
// nodes counts N times, or whether session-API sessions count at all.
func TestSiteCountingSwitches(t *testing.T) {
	t.Run("per node", func(t *testing.T) {
		s, _ := newSite(t, SiteOptions{Nodes: 3, CountPerNode: true})
		for i := range 3 {
			addSession(t, s, i, "a")
		}
		if got := s.CountedSessions("CORP", "alice"); got != 3 {
			t.Errorf("one id on 3 nodes counts %d, want 3", got)
		}
	})
	t.Run("API sessions free", func(t *testing.T) {
		s, _ := newSite(t, SiteOptions{Nodes: 1, APISessionsFree: true})
		for i := range 7 {
			if r := addSession(t, s, 0, fmt.Sprint("s", i)); r.status != http.StatusCreated {
				t.Fatalf("session %d refused: %d", i+1, r.status)
			}
		}
		if got := s.CountedSessions("CORP", "alice"); got != 0 {
			t.Errorf("counted %d API sessions, want 0", got)
		}
	})
}

// TestSiteTicketAtTheLimit: the proxy shows Qlik's denial for a ticket of
// a user at the limit, instead of the hub.
func TestSiteTicketAtTheLimit(t *testing.T) {
	s, _ := newSite(t, SiteOptions{Nodes: 1})
	for i := range 5 {
		addSession(t, s, 0, fmt.Sprint("s", i))
	}
	n := s.Node(0)
	tk := issueTicket(t, n, qpsClient(t, n), `{"UserDirectory":"CORP","UserId":"alice"}`)
	r := do(t, browser(t, n), http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk.Ticket), "", nil)
	if r.status != http.StatusForbidden || r.body != SessionLimitMessage {
		t.Errorf("ticket at the limit: %d %q", r.status, r.body)
	}
}

// TestSiteStopNode: a stopped node refuses connections, the front skips
// it, and its sessions no longer count.
func TestSiteStopNode(t *testing.T) {
	s, _ := newSite(t, SiteOptions{Nodes: 2})
	addSession(t, s, 0, "s0")
	s.StopNode(0)
	if got := s.CountedSessions("CORP", "alice"); got != 0 {
		t.Errorf("counted %d sessions of a dead node", got)
	}
	c := browser(t, s.Node(1))
	for range 3 {
		r := do(t, c, http.MethodGet, s.HubURL(), "", nil)
		loc, _ := url.Parse(r.header.Get("Location"))
		if got := loc.Query().Get("proxyRestUri"); got != s.ProxyRestURIs()[1] {
			t.Errorf("front sent the browser to %q, want node 2", got)
		}
	}
	if _, err := qpsClient(t, s.Node(0)).Get(s.ProxyRestURIs()[0] + "session"); err == nil {
		t.Error("the stopped node's QPS still answers")
	}
}
