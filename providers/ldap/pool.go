package ldap

import (
	"context"
	"sync"
	"time"
)

// pool keeps connections of one purpose open between logins: either search
// connections bound as the service account, or connections used for nothing
// but user binds. Keeping the purposes apart is what guarantees that no
// search ever runs with a user's identity, and that no user bind ever
// changes the identity of a search connection.
//
// The pool also caps how many connections of its purpose are in use at once
// (size), so a burst of logins queues instead of flooding the directory.
// With size 0 nothing is kept and nothing is capped.
type pool struct {
	size        int
	idleTimeout time.Duration
	now         func() time.Time
	open        func(ctx context.Context) (*conn, error)
	slots       chan struct{} // nil when size is 0

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

func newPool(size int, idleTimeout time.Duration, now func() time.Time, open func(ctx context.Context) (*conn, error)) *pool {
	pl := &pool{size: size, idleTimeout: idleTimeout, now: now, open: open}
	if size > 0 {
		pl.slots = make(chan struct{}, size)
	}
	return pl
}

// run lends a connection to fn. A pooled connection that turns out to be
// dead on fn's first operation (the server closed it while idle) is replaced
// by a new one once; nothing is retried after an operation succeeded.
func (pl *pool) run(ctx context.Context, fn func(*conn) error) error {
	if pl.slots != nil {
		select {
		case pl.slots <- struct{}{}:
			defer func() { <-pl.slots }()
		case <-ctx.Done():
			return unavailable("waiting for a free directory connection: %w", ctx.Err())
		}
	}
	c, reused, err := pl.take(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	if err != nil && reused && c.broken && !c.used && ctx.Err() == nil {
		c.close()
		if c, err = pl.open(ctx); err != nil {
			return err
		}
		err = fn(c)
	}
	pl.giveBack(c)
	return err
}

// take returns the most recently used live connection, or a new one.
func (pl *pool) take(ctx context.Context) (c *conn, reused bool, err error) {
	now := pl.now()
	for {
		pl.mu.Lock()
		n := len(pl.idle)
		if n == 0 {
			pl.mu.Unlock()
			break
		}
		c = pl.idle[n-1]
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		if c.reusable() && (pl.idleTimeout == 0 || now.Sub(c.idleSince) < pl.idleTimeout) {
			c.used = false
			return c, true, nil
		}
		c.close()
	}
	c, err = pl.open(ctx)
	return c, false, err
}

func (pl *pool) giveBack(c *conn) {
	pl.mu.Lock()
	keep := pl.size > 0 && !pl.closed && c.reusable() && len(pl.idle) < pl.size
	if keep {
		c.idleSince = pl.now()
		pl.idle = append(pl.idle, c)
	}
	pl.mu.Unlock()
	if !keep {
		c.close()
	}
}

// close closes the idle connections; connections in use are closed when
// they come back.
func (pl *pool) close() {
	pl.mu.Lock()
	idle := pl.idle
	pl.idle, pl.closed = nil, true
	pl.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}
