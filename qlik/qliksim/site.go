package qliksim

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SessionLimitMessage is what Qlik Sense answers a user who already has
// as many parallel sessions as the licence allows (contract §8.3).
const SessionLimitMessage = "You cannot access Qlik Sense because you have too many sessions active in parallel."

// limitReason is consumeTicket's reason for a ticket refused at the limit.
const limitReason = "too many sessions active in parallel"

// frontCookie pins a browser to a node on a sticky front.
const frontCookie = "qliksim-node"

// SiteOptions configures a simulated Qlik Sense site with several proxy
// nodes behind one load balancer.
type SiteOptions struct {
	// Nodes is the number of proxy nodes, default 2. Each has its own QPS,
	// ticket table and session table; they share the site's PKI.
	Nodes int
	// Prefix and ModuleURL are the virtual proxy's, as in SenseOptions.
	Prefix, ModuleURL string
	// Sticky makes the front keep a browser on the node it first reached
	// (a cookie, as load balancers do); otherwise it sends each request to
	// the next node that is up, round-robin.
	Sticky bool
	// SessionLimit is the site-wide number of parallel sessions per user,
	// default 5 as in Qlik Sense (not configurable there).
	SessionLimit int
	// Cooldown is how long an ended session still counts when the user was
	// at the limit, default 5 minutes (contract §8.3).
	Cooldown time.Duration
	// CountPerNode counts one SessionId on N nodes as N sessions; by
	// default it counts once. Qlik does not say which (UNCONFIRMED).
	CountPerNode bool
	// APISessionsFree leaves sessions created with POST session out of the
	// count; by default they count. Qlik does not say which (UNCONFIRMED).
	APISessionsFree bool
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Logf receives every rejection with its reason.
	Logf func(format string, args ...any)
}

// Site is a running simulated multi-node Qlik Sense site: the nodes and a
// browser-facing front (the load balancer). It is safe for concurrent use.
type Site struct {
	nodes   []*Sense
	down    []atomic.Bool
	counter *sessionCounter
	sticky  bool
	next    atomic.Uint64
	hubURL  string
	front   *http.Server
	ln      net.Listener
	proxies []*httputil.ReverseProxy
	wg      sync.WaitGroup
	denials atomic.Int64
}

// NewSite starts the nodes and the front. Call Close when done.
func NewSite(opts SiteOptions) (*Site, error) {
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Nodes < 1 {
		return nil, errors.New("qliksim: a site needs at least one node")
	}
	if opts.SessionLimit == 0 {
		opts.SessionLimit = 5
	}
	if opts.Cooldown == 0 {
		opts.Cooldown = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pki, err := NewPKI(nil)
	if err != nil {
		return nil, fmt.Errorf("qliksim: %w", err)
	}
	s := &Site{sticky: opts.Sticky, down: make([]atomic.Bool, opts.Nodes)}
	s.counter = &sessionCounter{
		limit: opts.SessionLimit, cooldown: opts.Cooldown, perNode: opts.CountPerNode, apiFree: opts.APISessionsFree,
		now: opts.Now, live: map[string]map[string]int{}, lingering: map[string][]time.Time{}, denials: &s.denials,
	}
	for i := range opts.Nodes {
		n, err := NewSense(SenseOptions{Prefix: opts.Prefix, ModuleURL: opts.ModuleURL, PKI: pki, Now: opts.Now, Logf: nodeLogf(opts.Logf, i)})
		if err != nil {
			s.Close()
			return nil, err
		}
		n.mu.Lock()
		n.st.limit = s.counter
		n.mu.Unlock()
		s.nodes = append(s.nodes, n)
		target, _ := url.Parse(n.hubURL)
		target.Path = "/"
		s.proxies = append(s.proxies, &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host // the node builds TargetUri from the browser's host
			},
			ErrorLog: n.life.errorLog(),
		})
	}
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		s.Close()
		return nil, fmt.Errorf("qliksim: listen front: %w", err)
	}
	s.hubURL = "http://" + dialAddr(s.ln.Addr()) + s.nodes[0].hubBase + "hub/"
	s.front = &http.Server{Handler: http.HandlerFunc(s.serveFront), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Go(func() { _ = s.front.Serve(s.ln) })
	return s, nil
}

func nodeLogf(logf func(string, ...any), i int) func(string, ...any) {
	if logf == nil {
		return nil
	}
	return func(format string, args ...any) { logf("node %d: "+format, append([]any{i + 1}, args...)...) }
}

// serveFront sends the request to a node that is up: the pinned one on a
// sticky front, else the next in turn.
func (s *Site) serveFront(w http.ResponseWriter, r *http.Request) {
	i, ok := -1, false
	if s.sticky {
		if c, err := r.Cookie(frontCookie); err == nil {
			if n, err := strconv.Atoi(c.Value); err == nil && n >= 0 && n < len(s.nodes) && !s.down[n].Load() {
				i, ok = n, true
			}
		}
	}
	if !ok {
		for range len(s.nodes) {
			n := int(s.next.Add(1)-1) % len(s.nodes)
			if !s.down[n].Load() {
				i, ok = n, true
				break
			}
		}
	}
	if !ok {
		plainError(w, http.StatusServiceUnavailable, "no proxy node is up")
		return
	}
	if s.sticky {
		http.SetCookie(w, &http.Cookie{Name: frontCookie, Value: strconv.Itoa(i), Path: "/", HttpOnly: true})
	}
	s.proxies[i].ServeHTTP(w, r)
}

// HubURL is the hub's address through the front, e.g.
// "http://127.0.0.1:PORT/hr/hub/".
func (s *Site) HubURL() string { return s.hubURL }

// Node returns node i (from 0).
func (s *Site) Node(i int) *Sense { return s.nodes[i] }

// Nodes is the number of nodes.
func (s *Site) Nodes() int { return len(s.nodes) }

// ProxyRestURIs are the nodes' QPS bases, in node order.
func (s *Site) ProxyRestURIs() []string {
	out := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.ProxyRestURI()
	}
	return out
}

// CookieName is the virtual proxy's session cookie name (the same on
// every node).
func (s *Site) CookieName() string { return s.nodes[0].CookieName() }

// PKI is the site's certificate set.
func (s *Site) PKI() *PKI { return s.nodes[0].PKI() }

// SetModuleURL sets every node's authentication module redirect URI.
func (s *Site) SetModuleURL(u string) {
	for _, n := range s.nodes {
		n.SetModuleURL(u)
	}
}

// StopNode shuts node i down for good: its QPS refuses connections and
// the front sends nothing there any more.
func (s *Site) StopNode(i int) {
	s.down[i].Store(true)
	n := s.nodes[i]
	n.Close()
	// Proxy sessions live in the node's memory: they die with it.
	n.mu.Lock()
	for id := range n.st.sessions {
		n.st.drop(id)
	}
	n.mu.Unlock()
}

// UserSessions counts the user's live sessions on each node.
func (s *Site) UserSessions(dir, id string) []int {
	out := make([]int, len(s.nodes))
	for i, n := range s.nodes {
		n.mu.Lock()
		for _, sd := range n.st.sessions {
			if userKey(sd.UserDirectory, sd.UserId) == userKey(dir, id) {
				out[i]++
			}
		}
		n.mu.Unlock()
	}
	return out
}

// CountedSessions is how many sessions the site counts against the
// user's limit right now (live ones, and ended ones still cooling down).
func (s *Site) CountedSessions(dir, id string) int {
	return s.counter.count(userKey(dir, id))
}

// Denials is how many sessions the site refused for the limit.
func (s *Site) Denials() int64 { return s.denials.Load() }

// Close stops the front and every node.
func (s *Site) Close() {
	if s.front != nil {
		_ = s.front.Close()
		s.wg.Wait()
	}
	for _, n := range s.nodes {
		n.Close()
	}
}

// sessionCounter is the site-wide count of each user's parallel sessions.
// It has its own lock and never calls into a node, so nodes may call it
// with theirs held.
type sessionCounter struct {
	limit            int
	cooldown         time.Duration
	perNode, apiFree bool
	now              func() time.Time
	denials          *atomic.Int64

	mu sync.Mutex
	// live maps a user to their session ids, each with the number of
	// nodes holding it; api marks ids created by POST session.
	live      map[string]map[string]int
	api       map[string]bool
	lingering map[string][]time.Time // user → when each cooling session stops counting
}

// admit counts a new session of user, or refuses it at the limit.
func (c *sessionCounter) admit(user, id string, api bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.live[user]
	if n, ok := ids[id]; ok && !c.perNode {
		ids[id] = n + 1 // the same id on another node: one session
		return true
	}
	if !(api && c.apiFree) && c.countLocked(user) >= c.limit {
		c.denials.Add(1)
		return false
	}
	if ids == nil {
		ids = map[string]int{}
		c.live[user] = ids
	}
	ids[id]++
	if api && c.apiFree {
		if c.api == nil {
			c.api = map[string]bool{}
		}
		c.api[id] = true
	}
	return true
}

// end notes that one node dropped session id of user.
func (c *sessionCounter) end(user, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.live[user]
	if ids[id] == 0 {
		return
	}
	atLimit := c.countLocked(user) >= c.limit
	if ids[id]--; ids[id] > 0 {
		return
	}
	delete(ids, id)
	if len(ids) == 0 {
		delete(c.live, user)
	}
	if c.api[id] {
		delete(c.api, id)
		return
	}
	if atLimit {
		// At the limit, an ended session frees its place only later.
		c.lingering[user] = append(c.lingering[user], c.now().Add(c.cooldown))
	}
}

func (c *sessionCounter) count(user string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.countLocked(user)
}

func (c *sessionCounter) countLocked(user string) int {
	now := c.now()
	keep := c.lingering[user][:0]
	for _, t := range c.lingering[user] {
		if now.Before(t) {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		delete(c.lingering, user)
	} else {
		c.lingering[user] = keep
	}
	n := len(keep)
	for id, nodes := range c.live[user] {
		switch {
		case c.api[id]:
		case c.perNode:
			n += nodes
		default:
			n++
		}
	}
	return n
}
