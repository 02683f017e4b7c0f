package sense

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// node is one QPS of the virtual proxy with its back-off state, as
// providers/ldap keeps one per directory server.
type node struct {
	base string // as configured, with its trailing slash
	// pool says the node is in nodes (or is proxy_rest_uri): only those
	// take part in failover and in "every node". An allowed_proxy_rest_uris
	// entry is called only when Qlik names it.
	pool bool

	mu        sync.Mutex
	downUntil time.Time
	lastErr   string

	calls, failures atomic.Uint64
}

func (n *node) resting(now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return now.Before(n.downUntil)
}

// record notes the outcome of a call; only a node failure (see
// nodeFailure) puts the node in back-off.
func (n *node) record(err error, now time.Time, backoff time.Duration) {
	n.calls.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err == nil || !nodeFailure(err) {
		n.downUntil, n.lastErr = time.Time{}, ""
		return
	}
	n.failures.Add(1)
	n.downUntil, n.lastErr = now.Add(backoff), err.Error()
}

// nodeFailure reports whether err is the node's fault, so another node may
// succeed: the node cannot be reached or answers 5xx. A 4xx is the
// request's or the certificate's fault, which every node of the site
// would repeat.
func nodeFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= http.StatusInternalServerError
	}
	return true
}

// nodeByBase returns the node with this QPS base (as ParseEntry returns
// it), or nil.
func (s *site) nodeByBase(base string) *node {
	for _, n := range s.nodes {
		if n.base == base {
			return n
		}
	}
	return nil
}

// named is the node Qlik named in the entry's proxyRestUri, or nil. An
// entry stored in a session is checked again, in case the configuration
// changed since.
func (s *site) named(e qlik.Entry) *node {
	if e.ProxyRestURI == "" {
		return nil
	}
	canon, err := canonicalQPS(e.ProxyRestURI)
	if err != nil {
		return nil
	}
	base, ok := s.allowed[canon]
	if !ok {
		return nil
	}
	return s.nodeByBase(base)
}

// pool is the configured nodes, in failover order: healthy nodes in
// configured order, then those in back-off, so a resting node is tried
// only when every other failed.
func (s *site) pool() []*node {
	now := s.now()
	out := make([]*node, 0, len(s.nodes))
	var resting []*node
	for _, n := range s.nodes {
		switch {
		case !n.pool:
		case n.resting(now):
			resting = append(resting, n)
		default:
			out = append(out, n)
		}
	}
	return append(out, resting...)
}

// call runs one QPS call on n and records its outcome.
func (s *site) call(ctx context.Context, n *node, method, path string, in, out any) error {
	err := s.qps.do(ctx, method, n.base, path, in, out)
	if ctx.Err() == nil { // a login that gave up is not the node's fault
		n.record(err, s.now(), s.cfg.NodeBackoff)
	}
	return err
}

// failover runs fn on the first node of the pool that does not fail, in
// the order of pool; a failure that another node would repeat ends the
// search.
func (s *site) failover(ctx context.Context, fn func(n *node) error) error {
	var errs []error
	for _, n := range s.pool() {
		err := fn(n)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if !nodeFailure(err) || ctx.Err() != nil {
			break
		}
		s.log.WarnContext(ctx, "QPS node failed, trying the next one", "node", n.base, "cause", err.Error())
	}
	return errors.Join(errs...)
}

// Nodes reports every QPS node of the target for the metrics.
func (s *site) Nodes() []qlik.NodeStatus {
	now := s.now()
	out := make([]qlik.NodeStatus, 0, len(s.nodes))
	for _, n := range s.nodes {
		out = append(out, qlik.NodeStatus{
			Node: n.base, Up: !n.resting(now), Calls: n.calls.Load(), Failures: n.failures.Load(),
		})
	}
	return out
}
