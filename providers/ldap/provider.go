// Package ldap is a password provider that checks users against an LDAP
// directory: Active Directory, Samba AD, OpenLDAP and the like.
//
// A login searches for the user as a service account, binds as the found
// entry with the user's password on a separate connection, then reads the
// user's groups. The Qlik identity comes from the entry, never from what the
// user typed.
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/providers"
)

// Kind registers the LDAP provider under `kind: ldap`.
var Kind = providers.NewKind("ldap", "ldap", NewConfig, Open)

// Provider checks passwords against an LDAP directory. It is safe for
// concurrent use; Close releases its pooled connections.
type Provider struct {
	id        string
	cfg       Config // with defaults applied
	log       *slog.Logger
	servers   []*server
	search    *pool // bound as the service account; only searches
	binds     *pool // only user binds
	userAttrs []string
	krb       *kerberos // nil without a kerberos block
	// stateAttrs are userAttrs and, on AD, what tells a disabled or locked
	// account, for sign-ins without a password (findUsableUser).
	stateAttrs []string

	// dialContext and now are replaced by tests to count dials and to move
	// the back-off clock without sleeping.
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	now         func() time.Time
}

// Open checks the configuration and prepares the connection pools. It reads
// ca_file but does not contact any server: an unreachable directory is
// reported at login (and by Check).
func Open(_ context.Context, c providers.Common, block *Config, env providers.Env) (*Provider, error) {
	cfg := *block
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Username = cfg.Username.withDomains(c.Directory, cfg.UserBase)
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &Provider{id: c.ID, cfg: cfg, log: log, userAttrs: userAttributes(cfg), now: time.Now}
	p.dialContext = (&net.Dialer{}).DialContext
	if cfg.Kerberos != nil {
		if p.krb, err = openKerberos(cfg.Kerberos, log); err != nil {
			return nil, err
		}
	}
	p.stateAttrs = p.userAttrs
	if cfg.ActiveDirectory {
		p.stateAttrs = append(slices.Clip(p.userAttrs), uacAttr, uacComputedAtt)
	}
	for i, raw := range cfg.URLs {
		s, err := newServer(raw, base)
		if err != nil {
			return nil, fmt.Errorf("urls[%d]: %w", i, err)
		}
		p.servers = append(p.servers, s)
		if !s.ldaps && !cfg.StartTLS {
			log.Warn("ldap: passwords are sent in clear text to this server: use ldaps:// or start_tls: true", "url", raw)
		}
	}
	if cfg.InsecureSkipVerify {
		log.Warn("ldap: TLS CERTIFICATE VERIFICATION IS OFF (insecure_skip_verify: true): anyone on the network path can " +
			"impersonate the directory and read every password. Use ca_file instead.")
	}
	now := func() time.Time { return p.now() }
	p.search = newPool(cfg.PoolSize, cfg.PoolIdleTimeout, now, func(ctx context.Context) (*conn, error) {
		return p.connect(ctx, p.serviceBind)
	})
	p.binds = newPool(cfg.PoolSize, cfg.PoolIdleTimeout, now, func(ctx context.Context) (*conn, error) {
		return p.connect(ctx, nil)
	})
	return p, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	// InsecureSkipVerify is opt-in and warned about loudly in Open.
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if cfg.CAFile != "" {
		data, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("ca_file: %s contains no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Login finds the user, checks the password with a bind as the user's entry
// and returns the identity read from the entry. Wrong passwords and unknown
// users return the same error; a directory that cannot be asked returns an
// error matching providers.ErrUnavailable.
func (p *Provider) Login(ctx context.Context, username, password string) (providers.Identity, error) {
	l := p.cfg.Username.normalize(username)
	switch {
	case l.name == "":
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonInvalidName, Err: providers.ErrBadCredentials}
	case l.foreign != "":
		// Stripping it would let "X\erin" sign in as erin of this directory.
		p.log.InfoContext(ctx, "ldap: refused a username of another domain or realm (username.domains, username.realms)",
			"domain", truncate(l.foreign, 64))
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonForeignDomain, Err: providers.ErrBadCredentials}
	}
	name := l.name
	// A simple bind with an empty password is an "unauthenticated bind" that
	// many servers answer with success: it must never reach a server.
	if password == "" {
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonEmptyPassword, Err: providers.ErrBadCredentials}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	var id providers.Identity
	err := p.search.run(ctx, func(c *conn) error {
		entry, err := p.findUser(ctx, c, name)
		if err != nil {
			return err
		}
		// The entry, not the spelling that found it, is what the directory
		// counts bad passwords against.
		if err := providers.EnterAccount(ctx, strings.ToLower(entry.DN)); err != nil {
			return err
		}
		if err := p.bindUser(ctx, entry.DN, password); err != nil {
			return err
		}
		id, err = p.identity(ctx, c, entry)
		return err
	})
	if err != nil {
		return providers.Identity{}, classify(err)
	}
	return id, nil
}

// classify makes every error match ErrBadCredentials or ErrUnavailable (or
// ErrThrottled, from the caller's account gate), so
// the login page never shows an internal error for a directory problem.
func classify(err error) error {
	if errors.Is(err, providers.ErrBadCredentials) || errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrThrottled) {
		return err
	}
	return unavailable("%w", err)
}

// Close closes the pooled connections.
func (p *Provider) Close() error {
	p.search.close()
	p.binds.close()
	return nil
}

// ServerStatus is the result of checking one server.
type ServerStatus struct {
	URL string
	Err error // nil when the server answered and accepted the service account
}

// Check connects to every server, ignoring back-off, and binds as the service
// account, for `qlikgate check` and readiness probes.
func (p *Provider) Check(ctx context.Context) []ServerStatus {
	out := make([]ServerStatus, len(p.servers))
	for i, s := range p.servers {
		out[i].URL = s.url
		c, err := p.open(ctx, s, p.serviceBind)
		if err != nil {
			out[i].Err = fmt.Errorf("ldap: %s: %w", s.url, err)
			continue
		}
		c.close()
	}
	return out
}

// userAttributes lists the attributes read from the user's entry.
func userAttributes(cfg Config) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range append([]string{cfg.UserIDAttribute, cfg.NameAttribute, cfg.EmailAttribute, cfg.MemberOfAttribute}, sortedKeys(cfg.Attributes)...) {
		if a != "" && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	return out
}

// NormalizeUsername is the name a login for typed looks up (see
// providers.UsernameNormalizer): what the throttle counts against.
func (p *Provider) NormalizeUsername(typed string) string {
	return p.cfg.Username.normalize(typed).name
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
