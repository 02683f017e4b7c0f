package ldap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// conn is one connection to one directory server. go-ldap's calls take no
// context, so conn bounds them through the socket: the context's deadline
// becomes the socket deadline, and cancelling the context moves the deadline
// to the past, which fails the pending read or write at once.
type conn struct {
	l      *ldap.Conn
	raw    net.Conn // the TCP connection under any TLS, whose deadline bounds everything
	server *server

	idleSince time.Time // when it went back to the pool
	broken    bool      // an operation failed or was cut short: never reuse
	used      bool      // an operation succeeded since the pool handed it out
}

// do runs op within ctx. After a transport failure or a cancellation the
// connection's state is unknown, so it is marked broken and never reused.
func (c *conn) do(ctx context.Context, op func(*ldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		c.broken = true
		return err
	}
	dl, _ := ctx.Deadline() // zero (no deadline) when ctx has none
	_ = c.raw.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = c.raw.SetDeadline(time.Unix(1, 0)) }) // in the past: aborts blocked I/O
	err := op(c.l)
	// The socket deadline equals the context's, so either may fire first:
	// an operation that failed once the context ended failed because of it.
	cut := !stop()
	cerr := ctx.Err()
	if cerr == nil && err != nil && !dl.IsZero() && !time.Now().Before(dl) {
		// The socket's deadline fired before the context's timer did (a
		// busy machine): the same deadline, so the same cause.
		cerr = context.DeadlineExceeded
	}
	if cut || (err != nil && cerr != nil) {
		c.broken = true
		switch {
		case err == nil:
			err = cerr
		case !errors.Is(err, cerr):
			err = fmt.Errorf("%w (%w)", err, cerr)
		}
	}
	// A pooled connection's reader goroutine keeps reading while idle, so
	// the deadline must not outlive the operation.
	_ = c.raw.SetDeadline(time.Time{})
	switch {
	case err == nil:
		c.used = true
	case isTransport(err):
		c.broken = true
	}
	return err
}

// reusable reports whether the connection can go back to the pool.
func (c *conn) reusable() bool { return !c.broken && !c.l.IsClosing() }

func (c *conn) close() {
	_ = c.l.Close()
	_ = c.raw.Close()
}
