package sense

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
)

// SessionKind registers the session-API flow under `kind: sense-session`.
var SessionKind = qlik.NewKind("sense-session", "sense", DefaultSessionConfig, OpenSession)

// DefaultSessionConfig returns a `sense:` block of a sense-session target
// with the defaults filled in.
func DefaultSessionConfig() *SessionConfig { return &SessionConfig{Config: *DefaultConfig()} }

// SessionConfig is the `sense:` block of a sense-session target: the
// common Sense keys plus the virtual proxy's session cookie.
type SessionConfig struct {
	Config `yaml:",inline"`
	// SessionCookieName is the virtual proxy's "Session cookie header name"
	// exactly as browsers see it (Qlik appends -HTTP on plain-HTTP access).
	// Required.
	SessionCookieName string `yaml:"session_cookie_name"`
	// CookieDomain is the domain the session cookie is set on; it must
	// cover both qlikgate's host and the hub's host. Empty: qlikgate's host
	// only, which works when both are served from the same host name.
	CookieDomain string `yaml:"cookie_domain"`
	// SessionOnAllNodes adds each proxy session to every node even when Qlik
	// named the node the browser came from: needed behind a load balancer
	// without stickiness. Without a named node, sessions always go to every
	// node.
	SessionOnAllNodes bool `yaml:"session_on_all_nodes"`
}

// Validate checks the block without reading files.
func (c *SessionConfig) Validate() error {
	errs := []error{c.Config.Validate()}
	switch {
	case c.SessionCookieName == "":
		errs = append(errs, errors.New("session_cookie_name: required: the virtual proxy's \"Session cookie header name\", like X-Qlik-Session-hr"))
	case !validCookieName(c.SessionCookieName):
		errs = append(errs, fmt.Errorf("session_cookie_name: %q is not a valid cookie name", c.SessionCookieName))
	}
	if strings.ContainsAny(c.CookieDomain, " /:\\;,") {
		errs = append(errs, fmt.Errorf("cookie_domain: %q must be a domain like .corp.local", c.CookieDomain))
	}
	return errors.Join(errs...)
}

func validCookieName(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return s != ""
}

// SessionTarget logs users in by creating a proxy session with an id of its
// own (POST {proxyRestUri}session) and setting the virtual proxy's session
// cookie to that id in the browser.
type SessionTarget struct {
	*site
	cookieName   string
	cookieDomain string
	secure       bool // the hub is https: the cookie must be Secure
	allNodes     bool // session_on_all_nodes
	retries      *retrier
}

// OpenSession loads the certificates, builds the QPS client and checks that
// a browser would really send the cookie it sets to the hub.
func OpenSession(_ context.Context, c qlik.Common, cfg *SessionConfig, env qlik.Env) (*SessionTarget, error) {
	publicURL, log := env.PublicURL, env.Log
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hub, _ := url.Parse(cfg.HubURL) // checked by Validate
	if err := checkCookieScope(cfg.CookieDomain, publicURL, hub); err != nil {
		return nil, err
	}
	if hub.Scheme == "http" && !strings.HasSuffix(cfg.SessionCookieName, "-HTTP") {
		log.Warn("the hub is plain http, where Qlik appends -HTTP to the session cookie name; check session_cookie_name",
			"session_cookie_name", cfg.SessionCookieName, "probably", cfg.SessionCookieName+"-HTTP")
	}
	s, err := openSite(c, &cfg.Config, log)
	if err != nil {
		return nil, err
	}
	return &SessionTarget{
		site:         s,
		cookieName:   cfg.SessionCookieName,
		cookieDomain: strings.ToLower(strings.TrimPrefix(cfg.CookieDomain, ".")),
		secure:       hub.Scheme == "https",
		allNodes:     cfg.SessionOnAllNodes,
		retries:      newRetrier(),
	}, nil
}

// checkCookieScope refuses a configuration whose cookie the browser would
// drop or never send to the hub, with the reason in the error.
func checkCookieScope(domain, publicURL string, hub *url.URL) error {
	pub, err := url.Parse(publicURL)
	if err != nil || pub.Host == "" {
		return fmt.Errorf("cookie_domain: cannot check against server.public_url %q", publicURL)
	}
	if hub.Scheme == "https" && pub.Scheme != "https" {
		return fmt.Errorf("cookie_domain: the hub is https, so its session cookie must be Secure, and browsers refuse a Secure cookie set by an http page (server.public_url is %s): serve qlikgate over https", publicURL)
	}
	pubHost, hubHost := strings.ToLower(pub.Hostname()), strings.ToLower(hub.Hostname())
	d := strings.ToLower(strings.TrimPrefix(domain, "."))
	if d == "" {
		if pubHost != hubHost {
			return fmt.Errorf("cookie_domain: empty, so the cookie belongs to %s only and the browser never sends it to the hub at %s: set cookie_domain to a domain both share", pubHost, hubHost)
		}
		return nil
	}
	if net.ParseIP(d) != nil || !strings.Contains(d, ".") {
		return fmt.Errorf("cookie_domain: browsers refuse a cookie for %q (an IP address or a top-level name): use a domain like .corp.local, or leave it empty when qlikgate and the hub share a host name", domain)
	}
	for _, h := range []struct{ what, host string }{{"qlikgate (server.public_url)", pubHost}, {"the hub (hub_url)", hubHost}} {
		if h.host != d && !strings.HasSuffix(h.host, "."+d) {
			return fmt.Errorf("cookie_domain: %q does not cover %s at %s, so the browser would drop the cookie or never send it to the hub", domain, h.what, h.host)
		}
	}
	return nil
}

// ParseEntry accepts, besides the proxy's targetId/proxyRestUri, a
// `returnto` on the hub's origin: the session API returns no TargetUri, so
// that is how a portal names the page to land on.
func (t *SessionTarget) ParseEntry(q url.Values) (qlik.Entry, error) {
	e, err := t.site.ParseEntry(q)
	if err != nil {
		return qlik.Entry{}, err
	}
	if raw := q.Get("returnto"); raw != "" {
		dest, err := onHub(t.cfg.HubURL, raw)
		if err != nil {
			return qlik.Entry{}, fmt.Errorf("%w: returnto: %v", qlik.ErrBadEntry, err)
		}
		e.ReturnTo = dest
	}
	return e, nil
}

// onHub resolves raw against the hub and accepts it only on the hub's
// origin (scheme, host and port), by the rule every kind uses.
func onHub(hubURL, raw string) (string, error) {
	hub, _ := url.Parse(hubURL) // checked by Validate
	rule := qlik.ReturnRule{Origins: qlik.Origins{}, Relative: qlik.RootedRelative, Base: hub, MaxLen: maxReturnTo}
	if err := rule.Origins.AddURL(hubURL); err != nil {
		return "", err
	}
	dest, err := rule.Check(raw)
	if err != nil {
		return "", fmt.Errorf("%.80q %v: use a path or a URL on the hub's origin %s://%s", raw, err, hub.Scheme, hub.Host)
	}
	return dest, nil
}

// maxReturnTo bounds returnto: the entry travels in qlikgate's session
// cookie.
const maxReturnTo = 2000

type sessionRequest struct {
	UserDirectory string      `json:"UserDirectory"`
	UserId        string      `json:"UserId"` //nolint:revive // Qlik's spelling
	Attributes    []attribute `json:"Attributes"`
	SessionId     string      `json:"SessionId"` //nolint:revive // Qlik's spelling
}

// newSessionID returns a random UUID v4, the form Qlik's own ids take.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Login hands the browser a proxy session: the one qlikgate gave it before
// while the node still knows it (Qlik counts every session against the
// user's five), else a new one.
func (t *SessionTarget) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	if err := checkUser(u); err != nil {
		return qlik.Handoff{}, err
	}
	req := sessionRequest{
		UserDirectory: u.Directory,
		UserId:        u.UserID,
		Attributes:    attributes(u, t.cfg.GroupAttribute),
	}
	named := t.named(e)
	nodes := t.sessionNodes(named)
	var err error
	if missing, ok := t.reuseKept(ctx, nodes, named, e.Kept, u); ok {
		req.SessionId = e.Kept
		// The user's node has it: the others catch up, now or later.
		t.retryFailed(ctx, t.add(ctx, missing, req), u, req)
	} else {
		if validSessionID(e.Kept) {
			// One proxy session per browser: the old one must not linger
			// on another node, counting against the user's five.
			t.deleteSession(ctx, t.nodes, e.Kept)
		}
		req.SessionId = newSessionID()
		err = t.addAll(ctx, nodes, named != nil, u, req)
	}
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("sense-session %s: %w", t.id, err)
	}
	dest := t.cfg.HubURL
	if e.ReturnTo != "" {
		if ok, err := onHub(t.cfg.HubURL, e.ReturnTo); err == nil {
			dest = ok
		}
	}
	return qlik.Handoff{Redirect: dest, Cookies: []*http.Cookie{t.cookie(req.SessionId, 0)}, Keep: req.SessionId}, nil
}

// reuseKept checks the session id kept for this browser, if any.
func (t *SessionTarget) reuseKept(ctx context.Context, nodes []*node, named *node, kept string, u qlik.User) ([]*node, bool) {
	if kept == "" || !validSessionID(kept) {
		return nil, false
	}
	return t.reuse(ctx, nodes, named, kept, u)
}

// addAll adds the session to nodes. It succeeds when the node the user
// will reach accepted it: the named node (the first, mustFirst) when Qlik
// named one, else any node, since a load balancer sends browsers only to
// nodes that answer. Nodes that failed are retried in the background; when
// the hand-off fails, the nodes that accepted are cleaned up, so no
// orphan counts against the user's limit.
func (t *SessionTarget) addAll(ctx context.Context, nodes []*node, mustFirst bool, u qlik.User, req sessionRequest) error {
	if len(nodes) == 0 {
		return errors.New("no QPS node is configured")
	}
	answers := t.add(ctx, nodes, req)
	var errs []error
	var accepted []*node
	for _, a := range answers {
		if a.err == nil {
			accepted = append(accepted, a.n)
			continue
		}
		errs = append(errs, fmt.Errorf("node %s: %w", a.n.base, a.err))
	}
	if len(accepted) == 0 || mustFirst && answers[0].err != nil {
		if len(accepted) > 0 {
			t.deleteSession(context.WithoutCancel(ctx), accepted, req.SessionId)
		}
		return errors.Join(errs...)
	}
	t.retryFailed(ctx, answers, u, req)
	return nil
}

// retryFailed schedules a background retry for each node that failed.
func (t *SessionTarget) retryFailed(ctx context.Context, answers []nodeAnswer, u qlik.User, req sessionRequest) {
	for _, a := range answers {
		if a.err != nil {
			t.log.WarnContext(ctx, "QPS node did not take the proxy session; retrying in the background", "node", a.n.base, "user", u.UserID, "cause", a.err.Error())
			t.retryLater(a.n, u, req)
		}
	}
}

// Logout ends the user's proxy sessions on every node and removes the
// cookie.
func (t *SessionTarget) Logout(ctx context.Context, u qlik.User) (qlik.Handoff, error) {
	t.cancelRetries(u, "")
	h := qlik.Handoff{Cookies: []*http.Cookie{t.cookie("", -1)}}
	return h, t.endUserSessions(ctx, u)
}

// validSessionID accepts what newSessionID makes: a kept id comes from the
// browser's session and goes into a QPS path.
func validSessionID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f'):
			return false
		}
	}
	return true
}

func (t *SessionTarget) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     t.cookieName,
		Value:    value,
		Domain:   t.cookieDomain,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   t.secure,
		SameSite: http.SameSiteLaxMode,
	}
}
