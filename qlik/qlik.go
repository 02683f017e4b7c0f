// Package qlik hands an authenticated user over to Qlik. Each Qlik flow (Sense
// ticket, Sense session, QlikView web ticket, Qlik Cloud JWT) is a Target kind;
// a Target returns what the browser must receive (a redirect, cookies or a
// page) instead of writing HTTP itself, so every flow is testable without a
// server and the web layer stays the only place that speaks HTTP to browsers.
package qlik

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
)

// Entry is what Qlik sent the browser to qlikgate with, after validation.
type Entry struct {
	// TargetID is the Sense proxy's targetId (the URL the user first asked for).
	TargetID string `json:"t,omitempty"`
	// ProxyRestURI is the QPS REST base (…/qps/{prefix}/), allowlisted.
	ProxyRestURI string `json:"p,omitempty"`
	// ReturnTo is a validated URL to send the user to after login, for
	// targets that take one.
	ReturnTo string `json:"r,omitempty"`
}

// User is the Qlik-side view of an authenticated identity.
type User struct {
	Directory  string
	UserID     string
	Name       string
	Email      string
	Groups     []string
	Attributes map[string][]string
}

// Handoff is what the browser must receive to land in Qlik.
type Handoff struct {
	// Redirect is the absolute URL to send the browser to with a 302.
	Redirect string
	// Cookies are set before redirecting.
	Cookies []*http.Cookie
	// Page, when not nil, is rendered instead of redirecting.
	Page *HandoffPage
}

// HandoffPage is a page that completes the hand-off in the browser (Qlik
// Cloud's JWT exchange needs the browser itself to call the tenant).
type HandoffPage struct {
	Template string         // template name
	Data     map[string]any // template data
	// ConnectOrigins are the origins the page's script calls (the
	// Content-Security-Policy's connect-src); scripts load only from
	// qlikgate itself.
	ConnectOrigins []string
}

// Target hands users to one Qlik deployment.
type Target interface {
	// ID is the target's configured id.
	ID() string
	// ParseEntry validates the query Qlik sent the browser with. Anything
	// not allowlisted is refused with an error matching ErrBadEntry.
	ParseEntry(q url.Values) (Entry, error)
	// Login hands the user over to Qlik.
	Login(ctx context.Context, u User, e Entry) (Handoff, error)
	// Logout ends the user's Qlik session where the flow allows it. The
	// Handoff may be empty.
	Logout(ctx context.Context, u User) (Handoff, error)
}

// ErrBadEntry marks an entry request that must be refused (HTTP 400):
// a foreign proxyRestUri, a malformed targetId, an unsafe return URL.
var ErrBadEntry = errors.New("bad entry")

// Common holds the keys every target entry has in the configuration.
type Common struct {
	// ID names the target in its entry URL, /t/{id}/, and in logs and
	// metrics: lower-case letters, digits, '-' and '_'. Required and unique.
	ID string `yaml:"id"`
	// Kind is the Qlik flow; the entry's block named in the table below
	// holds its settings. Required.
	Kind string `yaml:"kind"`
	// Default makes this the target of / and /login. With several targets,
	// exactly one must be the default.
	Default bool `yaml:"default"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Validate checks the common keys.
func (c Common) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("id: required"))
	} else if !idPattern.MatchString(c.ID) {
		errs = append(errs, fmt.Errorf("id: %q is not allowed: use lower-case letters, digits, '-' and '_' (it appears in URLs as /t/{id}/)", c.ID))
	}
	if c.Kind == "" {
		errs = append(errs, errors.New("kind: required"))
	}
	return errors.Join(errs...)
}

// Config is a kind-specific configuration block.
type Config interface {
	// Validate reports every problem, each error starting with the key it
	// concerns (relative to the block), joined with errors.Join.
	Validate() error
}

// Kind describes one kind of target: its configuration and how to open it.
type Kind struct {
	// Name is the value of `kind:` in the configuration.
	Name string
	// ConfigKey is the key of the kind's block ("sense", "qlikview", "cloud").
	ConfigKey string
	// NewConfig returns a pointer to a configuration with its defaults.
	NewConfig func() Config
	// Open builds the target: it loads certificates and keys and builds its
	// HTTP client, without calling Qlik.
	Open func(ctx context.Context, c Common, cfg Config, env Env) (Target, error)
}

// Env is what a target learns about the running module when it opens.
type Env struct {
	// PublicURL is how browsers reach qlikgate (server.public_url).
	PublicURL string
	// Log is the target's logger; it already names the target (target=<id>).
	Log *slog.Logger
}

// Kinds is a set of target kinds, looked up by name.
type Kinds []Kind

// Lookup returns the kind called name.
func (ks Kinds) Lookup(name string) (Kind, bool) {
	for _, k := range ks {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Names lists the kinds' names, for error messages.
func (ks Kinds) Names() []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Name
	}
	return out
}
