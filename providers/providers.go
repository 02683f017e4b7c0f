// Package providers defines how qlikgate authenticates a user: the Identity a
// provider returns, the interfaces each kind of provider implements, the errors
// the web layer turns into user-facing messages, and the Kind description used to
// build a provider from its configuration.
//
// The web layer never switches on a provider's kind: it only sees the
// interfaces below.
package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/internal/kind"
)

// Identity is who a provider says the user is.
type Identity struct {
	// Provider is the id of the provider instance that authenticated the user.
	Provider string `json:"p"`
	// Directory is the Qlik UserDirectory of the provider (its `directory` key).
	Directory string `json:"d"`
	// Subject is the provider's stable, unique id for the user (DN, sub claim…).
	Subject string `json:"s,omitempty"`
	// UserID is the Qlik UserId, taken from the directory entry or claim,
	// never from what the user typed.
	UserID        string              `json:"u"`
	Name          string              `json:"n,omitempty"`
	Email         string              `json:"e,omitempty"`
	EmailVerified bool                `json:"ev,omitempty"`
	Groups        []string            `json:"g,omitempty"`
	Attributes    map[string][]string `json:"a,omitempty"`
}

// PasswordProvider checks a username and password.
type PasswordProvider interface {
	// Login returns the identity for valid credentials. Wrong username and
	// wrong password must both return an error matching ErrBadCredentials.
	Login(ctx context.Context, username, password string) (Identity, error)
}

// RedirectProvider authenticates by sending the browser elsewhere (OIDC).
type RedirectProvider interface {
	// AuthURL is where to send the browser to sign in, for a flow with
	// this state, nonce and PKCE verifier. An error matching
	// ErrUnavailable means the provider cannot be used right now.
	AuthURL(ctx context.Context, state, nonce, codeVerifier string) (string, error)
	// Callback completes the flow from the query the browser came back
	// with. A refusal matches ErrBadCredentials or ErrUnavailable.
	Callback(ctx context.Context, q url.Values, nonce, codeVerifier string) (Identity, error)
}

// The optional capabilities a provider may have besides the one it signs
// users in with; the web layer asks for them by these interfaces alone.

// HintedRedirectProvider is a RedirectProvider that passes hints given
// on the login URL (login_hint, prompt) on to the identity provider, for
// one sign-in.
type HintedRedirectProvider interface {
	RedirectProvider
	AuthURLWithHints(ctx context.Context, state, nonce, codeVerifier string, hints url.Values) (string, error)
}

// AvailabilityReporter is implemented by providers that know, without
// I/O, whether they can be used right now (an OIDC issuer whose discovery
// has not succeeded yet); the login page shows such a provider as
// unavailable instead of sending users to an error.
type AvailabilityReporter interface {
	Available() bool
}

var (
	// ErrBadCredentials means the username or the password is wrong. Which
	// of the two must never reach the user.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrUnavailable means the provider could not be asked (server down,
	// timeout); the user may retry later.
	ErrUnavailable = errors.New("provider unavailable")
)

// Failure is a refused login that carries a reason for the log and,
// optionally, a message that is safe to show the user (for example
// "your password has expired"). It matches ErrBadCredentials with errors.Is
// when Unwrap says so.
type Failure struct {
	Reason   Reason // machine-readable, logged; the key of the user's message
	UserText string // shown to the user when not empty; must not reveal whether the account exists
	// ChangeURL is where the user changes an expired password, when the
	// provider knows one, so that a translated message can link to it.
	ChangeURL string
	Err       error
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return string(f.Reason) + ": " + f.Err.Error()
	}
	return string(f.Reason)
}

func (f *Failure) Unwrap() error { return f.Err }

// Common holds the keys every provider entry has in the configuration.
type Common struct {
	// ID names the provider in URLs (/login/{id}, /callback/{id}) and logs:
	// lower-case letters, digits, '-' and '_'. Required and unique.
	ID string `yaml:"id"`
	// Kind is the kind of provider; the entry's block of the same name
	// holds its settings. Required.
	Kind string `yaml:"kind"`
	// Label is shown on the login page: the button text of a redirect
	// provider, or the choice in the selector when several password
	// providers share the form. Empty: the id.
	Label string `yaml:"label"`
	// Directory is the Qlik UserDirectory of this provider's users
	// (CORP in CORP\alice). Required.
	Directory string `yaml:"directory"`
}

// Validate checks the common keys.
func (c Common) Validate() error {
	errs := kind.ValidateCommon(c.ID, c.Kind, "it appears in URLs")
	if c.Directory == "" {
		errs = append(errs, errors.New("directory: required (the Qlik UserDirectory of this provider's users)"))
	} else if !validQlikID(c.Directory) {
		errs = append(errs, fmt.Errorf("directory: %q is not a valid Qlik UserDirectory (no backslash, not blank, no surrounding spaces)", c.Directory))
	}
	return errors.Join(errs...)
}

func validQlikID(s string) bool {
	if s == "" || s != strings.TrimSpace(s) {
		return false
	}
	for _, r := range s {
		if r == '\\' || r < 0x20 {
			return false
		}
	}
	return true
}

// Config is a kind-specific configuration block.
type Config = kind.Config

// Provider is an opened provider. It implements PasswordProvider or
// RedirectProvider, and any of the optional capabilities that apply.
type Provider = any

// Kind describes one kind of provider: how to make its configuration and how
// to open a provider from it. A kind is registered by listing it in the
// binary's Kinds; the core never switches on kind names.
type Kind = kind.Kind[Common, Env, Provider]

// NewKind makes the Kind of a provider package from its NewConfig and
// Open, whose block type C it converts to once, for every kind.
func NewKind[C Config, P Provider](name, configKey string, newConfig func() C, open func(context.Context, Common, C, Env) (P, error)) Kind {
	return kind.New[Common, Env, Provider](name, configKey, newConfig, open)
}

// Env is what a provider learns about the running module when it opens.
type Env struct {
	// CallbackURL is the absolute URL the identity provider sends the
	// browser back to (redirect providers): {public_url}callback/{id}.
	CallbackURL string
	// Log is the provider's logger.
	Log *slog.Logger
}

// Kinds is a set of provider kinds, looked up by name.
type Kinds = kind.Kinds[Common, Env, Provider]
