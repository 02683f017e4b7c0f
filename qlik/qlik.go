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
	"time"

	"github.com/qlikgate/qlikgate/internal/keyerr"
	"github.com/qlikgate/qlikgate/internal/kind"
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
	// Kept is what the target asked, in Handoff.Keep, to be given back at
	// this browser's next hand-off to it (the sense-session flow keeps its
	// SessionId, so a returning browser reuses its proxy session instead of
	// spending one more of Qlik's five). The web layer fills it in from the
	// browser's qlikgate session; it is never part of a pending entry.
	Kept string `json:"-"`
	// MaxAge, when not nil, is how old a qlikgate sign-in may be for single
	// sign-on to answer this entry: with an older one (with 0, any) the
	// browser gets the login page and signs in anew (OIDC's prompt=login
	// and max_age). Not part of a pending entry: the sign-in that answers
	// a pending entry is the new one.
	MaxAge *time.Duration `json:"-"`
	// NoLogin, when not empty, is where the browser is sent instead of the
	// login page when the entry cannot be answered without the user: not
	// signed in, a sign-in older than MaxAge, or one that still owes a
	// second factor (OIDC's prompt=none, whose error response goes to the
	// client's registered redirect URI). A target sets it only to an
	// address its configuration lists.
	NoLogin string `json:"-"`
	// NoAccess, when not empty, is where the browser is sent instead of
	// the access-denied page when the target's access rules refuse the
	// signed-in user (OIDC's prompt=none, which allows no page: its
	// access_denied error response at the registered redirect URI). Like
	// NoLogin, only an address the target's configuration lists.
	NoAccess string `json:"-"`
}

// User is the Qlik-side view of an authenticated identity.
type User struct {
	Directory  string
	UserID     string
	Name       string
	Email      string
	Groups     []string
	Attributes map[string][]string
	// AuthTime is when the user signed in to qlikgate (zero when not
	// known): a single sign-on hand-off is not a new authentication.
	AuthTime time.Time
}

// Handoff is what the browser must receive to land in Qlik.
type Handoff struct {
	// Redirect is the absolute URL to send the browser to with a 302.
	Redirect string
	// Cookies are set before redirecting.
	Cookies []*http.Cookie
	// Page, when not nil, is rendered instead of redirecting.
	Page *HandoffPage
	// Keep, when not empty, is stored in the browser's qlikgate session and
	// given back as Entry.Kept at its next hand-off to the same target. It
	// may be a credential (a proxy session id): it is never logged.
	Keep string
}

// KeptEnder is implemented by targets whose Handoff.Keep names something
// they created in Qlik for one browser (a proxy session): when the
// browser's qlikgate sign-in expires, the web layer calls EndKept so that
// it does not outlive the sign-in and count against the user's limit.
type KeptEnder interface {
	EndKept(ctx context.Context, u User, kept string) error
}

// NodeStatus is the health of one Qlik server node as a target last saw it.
type NodeStatus struct {
	Node     string // the node's address, as configured
	Up       bool   // false while the node is in back-off after a failure
	Calls    uint64 // calls made to the node
	Failures uint64 // calls that failed because of the node
}

// NodeReporter is implemented by targets that talk to several server nodes
// (Sense proxy nodes), for per-node metrics.
type NodeReporter interface {
	Nodes() []NodeStatus
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

// ErrSessionLimit marks a hand-off that Qlik refused because the user has
// as many parallel sessions as Qlik allows (five on Qlik Sense): the user
// must close one, or wait, rather than simply try again.
var ErrSessionLimit = errors.New("too many parallel Qlik sessions")

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
	// Access says who may enter the target: checked at every hand-off,
	// single sign-on included, before Qlik is asked for anything. Without
	// it, everyone who signs in may enter.
	Access Access `yaml:"access"`
	// EmbedOrigins are the web origins (scheme://host[:port], no path) of
	// portal or mashup pages whose scripts may ask for a ticket for a
	// signed-in user at POST /t/{id}/ticket, or for a Qlik Cloud access
	// token at POST /t/{id}/access-token, beside qlikgate's own origin.
	// Only for targets that issue tickets (sense-ticket) or access tokens
	// (Qlik Cloud kinds with oauth_client_id). qlikgate's session cookie
	// is SameSite=Lax, so those POSTs work only from qlikgate's site. A
	// portal on another site gets an access token through the window at
	// GET /t/{id}/access-token/window?origin=…, which posts it to one of
	// these origins exactly.
	EmbedOrigins []string `yaml:"embed_origins"`
}

// Validate checks the common keys.
func (c Common) Validate() error {
	errs := kind.ValidateCommon(c.ID, c.Kind, "it appears in URLs as /t/{id}/")
	if err := c.Access.Validate(); err != nil {
		errs = append(errs, keyerr.Prefix("access.", err))
	}
	for i, o := range c.EmbedOrigins {
		if err := checkOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("embed_origins[%d]: %q %w", i, o, err))
		}
	}
	return errors.Join(errs...)
}

// Env is what a target learns about the running module when it opens.
type Env struct {
	// PublicURL is how browsers reach qlikgate (server.public_url).
	PublicURL string
	// Log is the target's logger; it already names the target (target=<id>).
	Log *slog.Logger
	// Shared is where state that every instance must see can live.
	Shared Shared
}

// The target family's instances of the kind seam.
type (
	// Config is a kind-specific configuration block.
	Config = kind.Config
	// Kind describes one kind of target: its configuration and how to
	// open it (loading certificates and keys and building its HTTP client,
	// without calling Qlik).
	Kind = kind.Kind[Common, Env, Target]
	// Kinds is a set of target kinds, looked up by name.
	Kinds = kind.Kinds[Common, Env, Target]
)

// NewKind makes the Kind of a target package from its NewConfig and Open,
// whose block type C it converts to once, for every kind; T implementing
// Target is checked when the package compiles.
func NewKind[C Config, T Target](name, configKey string, newConfig func() C, open func(context.Context, Common, C, Env) (T, error)) Kind {
	return kind.New[Common, Env, Target](name, configKey, newConfig, open)
}
