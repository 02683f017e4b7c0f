package sense

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// sessionNodes are the nodes a proxy session goes to: the node Qlik named,
// and every node of the pool when none was named or session_on_all_nodes
// is set (a load balancer without stickiness may send the browser to any
// of them, and proxy sessions are not shared between nodes). The node the
// user will reach, when known, comes first.
func (t *SessionTarget) sessionNodes(named *node) []*node {
	if named != nil && !t.allNodes {
		return []*node{named}
	}
	out := []*node{}
	if named != nil {
		out = append(out, named)
	}
	for _, n := range t.pool() {
		if n != named {
			out = append(out, n)
		}
	}
	return out
}

// nodeAnswer is one node's answer to a session call.
type nodeAnswer struct {
	n   *node
	err error
	sd  sessionData
}

// sessionData is the QPS SessionData, as far as qlikgate reads it.
type sessionData struct {
	UserDirectory string `json:"UserDirectory"`
	UserId        string `json:"UserId"` //nolint:revive // Qlik's spelling
}

// onNodes runs fn on every node at once.
func onNodes(nodes []*node, fn func(n *node) nodeAnswer) []nodeAnswer {
	out := make([]nodeAnswer, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { out[i] = fn(n) })
	}
	wg.Wait()
	return out
}

// lookup asks each node whether it still knows session id (GET
// session/{id}): a 404 means it does not (it timed out, the node
// restarted, or the user logged out in Qlik).
func (t *SessionTarget) lookup(ctx context.Context, nodes []*node, id string) []nodeAnswer {
	return onNodes(nodes, func(n *node) nodeAnswer {
		a := nodeAnswer{n: n}
		a.err = t.call(ctx, n, http.MethodGet, "session/"+url.PathEscape(id), nil, &a.sd)
		return a
	})
}

// add creates the session on each node. A node that already has this id
// (405 "SessionId … already exists!", a retry that crossed an earlier
// answer) has accepted it.
func (t *SessionTarget) add(ctx context.Context, nodes []*node, req sessionRequest) []nodeAnswer {
	return onNodes(nodes, func(n *node) nodeAnswer {
		err := t.call(ctx, n, http.MethodPost, "session", req, nil)
		if err != nil && isStatus(err, http.StatusMethodNotAllowed) && strings.Contains(strings.ToLower(err.Error()), "already exists") {
			err = nil
		}
		return nodeAnswer{n: n, err: sessionLimit(err)}
	})
}

// sessionLimit marks Qlik's refusal for a user at the parallel-session
// limit with qlik.ErrSessionLimit. The status of that refusal on the
// session API is not documented, only the text users see ("You cannot
// access Qlik Sense because you have too many sessions active in
// parallel") and the QRS log's 'UsageDenied': any answer carrying one of
// them, or a 429, counts.
func sessionLimit(err error) error {
	var se *StatusError
	if !errors.As(err, &se) {
		return err
	}
	body := strings.ToLower(se.Body)
	if se.Status == http.StatusTooManyRequests || strings.Contains(body, "too many sessions") ||
		strings.Contains(body, "usagedenied") || strings.Contains(body, "sessions active in parallel") {
		return fmt.Errorf("%w: %w", qlik.ErrSessionLimit, err)
	}
	return err
}

// sameUser compares Qlik user ids as Qlik does, without regard to case.
func sameUser(sd sessionData, u qlik.User) bool {
	return strings.EqualFold(sd.UserDirectory, u.Directory) && strings.EqualFold(sd.UserId, u.UserID)
}

// reuse returns the nodes that must still be given the session kept for
// this browser, and whether it can be reused at all: the node the user
// will reach (the first, when Qlik named it; otherwise any) must still know
// it, for this same user. A kept session of another user (the browser
// signed in as someone else since) is never handed over; Login deletes
// it.
func (t *SessionTarget) reuse(ctx context.Context, nodes []*node, named *node, id string, u qlik.User) (missing []*node, ok bool) {
	answers := t.lookup(ctx, nodes, id)
	var known []*node
	foreign := false
	for _, a := range answers {
		switch {
		case a.err == nil && sameUser(a.sd, u):
			known = append(known, a.n)
		case a.err == nil:
			foreign = true
		case isStatus(a.err, http.StatusNotFound):
			missing = append(missing, a.n)
		default:
			t.log.WarnContext(ctx, "QPS node could not say whether it knows the browser's proxy session", "node", a.n.base, "cause", a.err.Error())
			missing = append(missing, a.n)
		}
	}
	if foreign || len(known) == 0 || (named != nil && known[0] != named) {
		return nil, false
	}
	return missing, true
}

// deleteSession ends one proxy session on the given nodes; a node that
// does not know it is fine.
func (t *SessionTarget) deleteSession(ctx context.Context, nodes []*node, id string) {
	for _, a := range onNodes(nodes, func(n *node) nodeAnswer {
		return nodeAnswer{n: n, err: t.call(ctx, n, http.MethodDelete, "session/"+url.PathEscape(id), nil, nil)}
	}) {
		if a.err != nil && !isStatus(a.err, http.StatusNotFound) {
			t.log.WarnContext(ctx, "could not delete a proxy session qlikgate created", "node", a.n.base, "cause", a.err.Error())
		}
	}
}

// retrier adds a session, in the background, to nodes that failed during a
// hand-off, a few times with growing pauses, so that a browser the load
// balancer sends there later is still known. It is bounded: at most max
// retries wait at once, and a logout cancels the user's.
type retrier struct {
	delays []time.Duration
	max    int

	mu      sync.Mutex
	pending map[string]map[*retry]bool // per user key
	n       int
	closed  bool
	// running counts the retry goroutines, so Close can wait for them:
	// a target that is closed logs nothing and calls no node after.
	running sync.WaitGroup
}

type retry struct {
	id     string // the SessionId being retried
	cancel context.CancelFunc
}

func newRetrier() *retrier {
	return &retrier{delays: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}, max: 1000, pending: map[string]map[*retry]bool{}}
}

func userKey(u qlik.User) string {
	return strings.ToLower(u.Directory) + "\\" + strings.ToLower(u.UserID)
}

// retryLater retries req on n unless too many retries already wait.
func (t *SessionTarget) retryLater(n *node, u qlik.User, req sessionRequest) {
	r := t.retries
	ctx, cancel := context.WithCancel(context.Background())
	rt := &retry{id: req.SessionId, cancel: cancel}
	key := userKey(u)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		cancel()
		return
	}
	if r.n >= r.max {
		r.mu.Unlock()
		cancel()
		t.log.Warn("QPS node missed a proxy session and too many retries are already waiting: a browser sent to it goes back to qlikgate", "node", n.base, "user", u.UserID)
		return
	}
	r.n++
	if r.pending[key] == nil {
		r.pending[key] = map[*retry]bool{}
	}
	r.pending[key][rt] = true
	r.running.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.running.Done()
		defer func() {
			cancel()
			r.mu.Lock()
			r.n--
			delete(r.pending[key], rt)
			if len(r.pending[key]) == 0 {
				delete(r.pending, key)
			}
			r.mu.Unlock()
		}()
		for i, d := range r.delays {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
			a := t.add(ctx, []*node{n}, req)[0]
			if a.err == nil {
				t.log.Info("QPS node accepted the proxy session on a retry", "node", n.base, "user", u.UserID, "attempt", i+1)
				return
			}
			if ctx.Err() != nil {
				return
			}
			t.log.Warn("QPS node still refuses the proxy session", "node", n.base, "user", u.UserID, "attempt", i+1, "cause", a.err.Error())
		}
	}()
}

// cancelRetries stops the user's waiting retries of session id, or all of
// them for "": after a logout they would bring a deleted session back.
func (t *SessionTarget) cancelRetries(u qlik.User, id string) {
	r := t.retries
	r.mu.Lock()
	defer r.mu.Unlock()
	for rt := range r.pending[userKey(u)] {
		if id == "" || rt.id == id {
			rt.cancel()
		}
	}
}

// Close stops the waiting retries (at shutdown or when a reload replaces
// the target): they belong to the configuration that made them. It
// returns once they have stopped, so nothing of the old configuration
// calls a node or logs after it.
func (t *SessionTarget) Close() error {
	r := t.retries
	r.mu.Lock()
	r.closed = true
	for _, rts := range r.pending {
		for rt := range rts {
			rt.cancel()
		}
	}
	r.mu.Unlock()
	r.running.Wait()
	return nil
}

// EndKept deletes, on every node, the proxy session qlikgate kept for a
// browser whose qlikgate sign-in expired.
func (t *SessionTarget) EndKept(ctx context.Context, u qlik.User, kept string) error {
	if !validSessionID(kept) {
		return nil
	}
	t.cancelRetries(u, kept)
	var errs []error
	for _, a := range onNodes(t.nodes, func(n *node) nodeAnswer {
		return nodeAnswer{n: n, err: t.call(ctx, n, http.MethodDelete, "session/"+url.PathEscape(kept), nil, nil)}
	}) {
		if a.err != nil && !isStatus(a.err, http.StatusNotFound) {
			errs = append(errs, fmt.Errorf("node %s: %w", a.n.base, a.err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sense-session %s: end the session of an expired sign-in: %w", t.id, err)
	}
	return nil
}
