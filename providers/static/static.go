// Package static is a password provider whose users are listed in the
// configuration with argon2id or bcrypt hashes. It suits small sites, break-glass
// administrators and demos.
package static

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"

	"github.com/qlikgate/qlikgate/providers"
)

// Kind registers the static provider under `kind: static`.
var Kind = providers.NewKind("static", "static", NewConfig, Open)

// NewConfig returns an empty `static:` block: there are no defaults.
func NewConfig() *Config { return &Config{} }

// Config is the `static:` block of a provider.
type Config struct {
	// Users are the accounts this provider knows. At least one is required.
	Users []User `yaml:"users"`
	// CaseSensitive makes usernames match exactly. By default "Alice" and
	// "alice" are the same user, and the Qlik UserId is always the
	// configured spelling.
	CaseSensitive bool `yaml:"case_sensitive"`
	// MaxConcurrent caps simultaneous hash verifications so a burst of
	// logins cannot exhaust memory (argon2id uses its memory cost per
	// verification). 0 means twice the number of CPUs.
	MaxConcurrent int `yaml:"max_concurrent"`
}

// User is one configured user.
type User struct {
	// Username is what the user types, and the Qlik UserId. Required and
	// unique.
	Username string `yaml:"username"`
	// PasswordHash is an argon2id hash made by `qlikgate hash-password`, or
	// a bcrypt hash ($2a$, $2b$, $2y$). Required.
	PasswordHash string `yaml:"password_hash" secret:"true"`
	// Name is the user's display name, given to Qlik.
	Name string `yaml:"name"`
	// Email is the user's e-mail address, given to Qlik.
	Email string `yaml:"email"`
	// Groups are given to Qlik, each as one attribute (Group by default).
	Groups []string `yaml:"groups"`
	// Attributes are further Qlik attributes: a name and its list of
	// values, e.g. {office: [Stockholm]}.
	Attributes map[string][]string `yaml:"attributes"`
}

// Validate reports every problem with the block.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Users) == 0 {
		errs = append(errs, errors.New("users: at least one user is required"))
	}
	if c.MaxConcurrent < 0 {
		errs = append(errs, errors.New("max_concurrent: must not be negative"))
	}
	seen := map[string]int{}
	for i, u := range c.Users {
		key := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Username == "":
			errs = append(errs, fmt.Errorf("%s.username: required", key))
		case u.Username != strings.TrimSpace(u.Username) || strings.ContainsAny(u.Username, "\\\x00\r\n\t"):
			errs = append(errs, fmt.Errorf("%s.username: %q must not contain a backslash, control characters or surrounding spaces (it becomes the Qlik UserId)", key, u.Username))
		default:
			norm := c.normalize(u.Username)
			if j, dup := seen[norm]; dup {
				errs = append(errs, fmt.Errorf("%s.username: %q is already users[%d]", key, u.Username, j))
			}
			seen[norm] = i
		}
		if u.PasswordHash == "" {
			errs = append(errs, fmt.Errorf("%s.password_hash: required", key))
		} else if _, err := parseHash(u.PasswordHash); err != nil {
			errs = append(errs, fmt.Errorf("%s.password_hash: %w", key, err))
		}
		for _, g := range u.Groups {
			if strings.TrimSpace(g) == "" {
				errs = append(errs, fmt.Errorf("%s.groups: blank group name", key))
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Config) normalize(username string) string {
	username = strings.TrimSpace(username)
	if c.CaseSensitive {
		return username
	}
	return strings.ToLower(username)
}

// Provider checks passwords against the configured users.
type Provider struct {
	cfg   Config
	users map[string]account
	dummy passwordHash
	slots chan struct{}
	log   *slog.Logger
}

type account struct {
	User
	hash passwordHash
}

// Open parses every hash once, so a login never fails on a bad config.
func Open(_ context.Context, c providers.Common, block *Config, env providers.Env) (*Provider, error) {
	cfg := *block
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, users: map[string]account{}, log: log}
	for _, u := range cfg.Users {
		h, err := parseHash(u.PasswordHash)
		if err != nil {
			return nil, fmt.Errorf("static: %s: %w", u.Username, err)
		}
		p.users[cfg.normalize(u.Username)] = account{User: u, hash: h}
	}
	// Unknown users are checked against a hash of the first user's algorithm
	// and cost, so they take as long as known ones.
	first, _ := parseHash(cfg.Users[0].PasswordHash)
	d, err := first.dummy()
	if err != nil {
		return nil, fmt.Errorf("static: dummy hash: %w", err)
	}
	p.dummy = d
	n := cfg.MaxConcurrent
	if n == 0 {
		n = 2 * runtime.NumCPU()
	}
	p.slots = make(chan struct{}, n)
	return p, nil
}

// Login checks the password. An unknown user and a wrong password return the
// same error after the same work.
func (p *Provider) Login(ctx context.Context, username, password string) (providers.Identity, error) {
	// select picks at random among ready cases: without this, a request
	// already gone would still get a free slot half of the time.
	if err := ctx.Err(); err != nil {
		return providers.Identity{}, fmt.Errorf("static: %w: %w", providers.ErrUnavailable, err)
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return providers.Identity{}, fmt.Errorf("static: waiting for a verification slot: %w: %w", providers.ErrUnavailable, ctx.Err())
	}
	acct, known := p.users[p.cfg.normalize(username)]
	h := p.dummy
	if known {
		h = acct.hash
	}
	ok := h.verify(password)
	switch {
	case !known:
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonUnknownUser, Err: providers.ErrBadCredentials}
	case password == "" || !ok:
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonWrongPassword, Err: providers.ErrBadCredentials}
	}
	return acct.identity(), nil
}

func (acct account) identity() providers.Identity {
	return providers.Identity{
		Subject:    acct.Username,
		UserID:     acct.Username,
		Name:       acct.Name,
		Email:      acct.Email,
		Groups:     slices.Clone(acct.Groups),
		Attributes: cloneAttrs(acct.Attributes),
	}
}

var _ providers.IdentityLookup = (*Provider)(nil)

// LookupIdentity is the identity of the user with this UserID (the
// spelling Login gives), as Login would return it (see
// providers.IdentityLookup); a user no longer in the configuration is
// refused.
func (p *Provider) LookupIdentity(_ context.Context, userID string) (providers.Identity, error) {
	acct, known := p.users[p.cfg.normalize(userID)]
	if !known || acct.Username != userID {
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonUnknownUser, Err: providers.ErrBadCredentials}
	}
	return acct.identity(), nil
}

func cloneAttrs(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// NormalizeUsername is the name a login for typed looks up (see
// providers.UsernameNormalizer).
func (p *Provider) NormalizeUsername(typed string) string { return p.cfg.normalize(typed) }
