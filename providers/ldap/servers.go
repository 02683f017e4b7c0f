package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// server is one entry of urls, with its back-off state.
type server struct {
	url   string
	addr  string // host:port
	ldaps bool
	tls   *tls.Config // ServerName set to the URL's host

	mu        sync.Mutex
	downUntil time.Time
}

func newServer(raw string, base *tls.Config) (*server, error) {
	u, err := parseServerURL(raw)
	if err != nil {
		return nil, err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
	}
	tc := base.Clone()
	tc.ServerName = u.Hostname()
	return &server{url: raw, addr: net.JoinHostPort(u.Hostname(), port), ldaps: u.Scheme == "ldaps", tls: tc}, nil
}

func (s *server) resting(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Before(s.downUntil)
}

func (s *server) setDownUntil(t time.Time) {
	s.mu.Lock()
	s.downUntil = t
	s.mu.Unlock()
}

// errNotServer marks a failure that another server would repeat (the service
// account is refused), so it neither puts the server in back-off nor moves on.
var errNotServer = errors.New("configuration problem")

// prepareFunc readies a new connection (the service bind) within the dial timeout.
type prepareFunc func(ctx context.Context, c *conn) error

// connect opens a connection to the first server that works: servers in
// back-off come last, so they are only tried when all others failed.
func (p *Provider) connect(ctx context.Context, prepare prepareFunc) (*conn, error) {
	now := p.now()
	order := make([]*server, 0, len(p.servers))
	var resting []*server
	for _, s := range p.servers {
		if s.resting(now) {
			resting = append(resting, s)
		} else {
			order = append(order, s)
		}
	}
	var errs []error
	for _, s := range append(order, resting...) {
		c, err := p.open(ctx, s, prepare)
		if err == nil {
			s.setDownUntil(time.Time{})
			return c, nil
		}
		if errors.Is(err, errNotServer) {
			return nil, unavailable("%s: %w", s.url, err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.url, err))
		if ctx.Err() != nil {
			break // the login gave up: not the server's fault
		}
		until := p.now().Add(p.cfg.ServerBackoff)
		s.setDownUntil(until)
		p.log.WarnContext(ctx, "ldap: server failed, skipping it for a while", "url", s.url, "until", until, "cause", err.Error())
	}
	return nil, unavailable("no directory server could be reached: %w", errors.Join(errs...))
}

// open dials s and brings the connection to a usable state (TLS, then
// prepare), all within dial_timeout.
func (p *Provider) open(ctx context.Context, s *server, prepare prepareFunc) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	raw, err := p.dialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	nc := raw
	if s.ldaps {
		tc := tls.Client(raw, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	l := ldap.NewConn(nc, s.ldaps)
	l.Start()
	l.SetTimeout(p.cfg.Timeout) // a backstop: the socket deadline normally fires first
	c := &conn{l: l, raw: raw, server: s}
	if p.cfg.StartTLS {
		if err := c.do(ctx, func(l *ldap.Conn) error { return l.StartTLS(s.tls) }); err != nil {
			c.close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	if prepare != nil {
		if err := prepare(ctx, c); err != nil {
			c.close()
			return nil, err
		}
	}
	c.used = false
	return c, nil
}

// serviceBind binds a new search connection as the service account.
func (p *Provider) serviceBind(ctx context.Context, c *conn) error {
	if p.cfg.AnonymousSearch {
		return nil
	}
	err := c.do(ctx, func(l *ldap.Conn) error {
		_, err := l.SimpleBind(ldap.NewSimpleBindRequest(p.cfg.BindDN, p.cfg.BindPassword, nil))
		return err
	})
	switch {
	case err == nil:
		p.log.DebugContext(ctx, "ldap: service account bound", "url", c.server.url, "bind_dn", p.cfg.BindDN)
		return nil
	case isTransport(err):
		return fmt.Errorf("bind as %q: %w", p.cfg.BindDN, err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired):
		return fmt.Errorf("%w: the server requires TLS for simple binds: use ldaps:// or start_tls: true (%w)", errNotServer, err)
	default:
		p.log.ErrorContext(ctx, "ldap: the service account was refused: check bind_dn and bind_password", "url", c.server.url, "bind_dn", p.cfg.BindDN, "cause", err.Error())
		return fmt.Errorf("%w: service account %q refused: %w", errNotServer, p.cfg.BindDN, err)
	}
}
