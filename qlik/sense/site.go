package sense

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// site is what both Sense flows share: the configuration, the mutual-TLS
// QPS client and the allowlist of QPS addresses.
type site struct {
	id      string
	cfg     Config
	qps     *qpsClient
	allowed map[string]string // canonical QPS base → base as configured
	// nodes are every QPS base of the virtual proxy: nodes (or
	// proxy_rest_uri) first, in order, then allowed_proxy_rest_uris.
	nodes []*node
	now   func() time.Time
	// redirectHosts are the origins a TargetUri may have.
	redirectHosts qlik.Origins
	log           *slog.Logger
}

// openSite loads the certificates and builds the QPS client.
func openSite(c qlik.Common, cfg *Config, log *slog.Logger) (*site, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsConf, leaf, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	if path, mode, loose := looseKeyFile(cfg); loose {
		log.Warn("the Qlik client key can be read by other users: it logs anyone into Qlik Sense; chmod 600 it",
			"file", path, "mode", mode.String())
	}
	if leaf != nil && time.Now().After(leaf.NotAfter) {
		log.Warn("the Qlik client certificate has expired: the QPS will refuse every hand-off",
			"not_after", leaf.NotAfter)
	}
	s := &site{id: c.ID, cfg: *cfg, qps: newQPSClient(tlsConf, cfg.Timeout), log: log, now: time.Now}
	s.allowed, s.redirectHosts = allowlists(cfg)
	s.nodes = newNodes(cfg)
	return s, nil
}

// newNodes makes one node per QPS base of a validated configuration.
func newNodes(cfg *Config) []*node {
	var out []*node
	seen := map[string]bool{}
	for i, raw := range append(slices.Clone(cfg.nodeList()), cfg.AllowedProxyRestURIs...) {
		canon, _ := canonicalQPS(raw) // checked by Validate
		if seen[canon] {
			continue
		}
		seen[canon] = true
		out = append(out, &node{base: withSlash(raw), pool: i < len(cfg.nodeList())})
	}
	return out
}

// allowlists derives, from a validated configuration, the QPS bases a
// browser may bring and the origins a TargetUri may have.
func allowlists(cfg *Config) (qps map[string]string, redirect qlik.Origins) {
	qps, redirect = map[string]string{}, qlik.Origins{}
	_ = redirect.AddURL(cfg.HubURL) // checked by Validate
	hub, _ := url.Parse(cfg.HubURL)
	for _, raw := range append(slices.Clone(cfg.nodeList()), cfg.AllowedProxyRestURIs...) {
		canon, _ := canonicalQPS(raw)
		base := withSlash(raw)
		qps[canon] = base
		u, _ := url.Parse(canon)
		redirect["https://"+net.JoinHostPort(u.Hostname(), "443")] = true
	}
	for _, h := range cfg.AllowedRedirectHosts {
		// A bare host[:port] takes the hub's scheme: a TargetUri on
		// another scheme than the one configured is refused.
		origin, _ := qlik.ParseOrigin(h, hub.Scheme) // checked by Validate
		redirect[origin] = true
	}
	return qps, redirect
}

// checkRedirect accepts a URL the QPS returned only on the hub's origin, a
// QPS host over https on 443 or allowed_redirect_hosts (scheme, host and
// port): a compromised or misconfigured QPS must not send users, with a
// ticket, anywhere else. It returns the URL to add the ticket to.
func (s *site) checkRedirect(raw string) (string, error) {
	dest, err := qlik.ReturnRule{Origins: s.redirectHosts}.Check(raw)
	if err != nil {
		return "", fmt.Errorf("%w: the QPS returned a TargetUri %.80q that is neither on the hub's origin, a QPS host on 443 nor in allowed_redirect_hosts: %v", qlik.ErrBadEntry, raw, err)
	}
	return dest, nil
}

// ID is the target's configured id.
func (s *site) ID() string { return s.id }

// targetIDPattern is a GUID, the only form the QPS produces.
var targetIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ParseEntry validates targetId and proxyRestUri from the proxy's redirect.
// The proxyRestUri must be a configured node or allowlisted: the module
// authenticates to it with the site's client certificate. Without one the
// entry names no node, and the hand-off picks one.
func (t *site) ParseEntry(q url.Values) (qlik.Entry, error) {
	var e qlik.Entry
	if raw := q.Get("proxyRestUri"); raw != "" {
		canon, err := canonicalQPS(raw)
		if err != nil {
			return qlik.Entry{}, fmt.Errorf("%w: proxyRestUri: %v", qlik.ErrBadEntry, err)
		}
		base, ok := t.allowed[canon]
		if !ok {
			return qlik.Entry{}, fmt.Errorf("%w: proxyRestUri %q is neither a configured node (proxy_rest_uri, nodes) nor in allowed_proxy_rest_uris", qlik.ErrBadEntry, raw)
		}
		e.ProxyRestURI = base
	}
	if id := q.Get("targetId"); id != "" {
		if !targetIDPattern.MatchString(id) {
			return qlik.Entry{}, fmt.Errorf("%w: targetId %.40q is not a GUID", qlik.ErrBadEntry, id)
		}
		e.TargetID = id
	}
	return e, nil
}

// withSlash is a QPS base in the form requests use: with its trailing slash.
func withSlash(base string) string {
	if strings.HasSuffix(base, "/") {
		return base
	}
	return base + "/"
}

// endUserSessions ends every proxy session of the user on this virtual
// proxy (the QPS "logout everywhere") on every node: proxy sessions live
// in each node's memory, so one node's logout leaves the others'.
func (t *site) endUserSessions(ctx context.Context, u qlik.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	path := "user/" + url.PathEscape(u.Directory) + "/" + url.PathEscape(u.UserID)
	errs := make([]error, len(t.nodes))
	var wg sync.WaitGroup
	for i, n := range t.nodes {
		wg.Go(func() {
			if err := t.call(ctx, n, http.MethodDelete, path, nil, nil); err != nil {
				errs[i] = fmt.Errorf("node %s: %w", n.base, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sense %s: logout: %w", t.id, err)
	}
	return nil
}

// checkUser refuses ids the QPS would refuse, with a clearer message.
func checkUser(u qlik.User) error {
	for name, v := range map[string]string{"UserDirectory": u.Directory, "UserId": u.UserID} {
		if strings.TrimSpace(v) == "" || strings.Contains(v, `\`) {
			return fmt.Errorf("sense: %s %q is blank or contains a backslash, which Qlik refuses", name, v)
		}
	}
	return nil
}

// attributes turns groups and identity attributes into Qlik's list of
// single-key objects.
func attributes(u qlik.User, groupAttr string) []attribute {
	out := make([]attribute, 0, len(u.Groups)+len(u.Attributes))
	for _, g := range u.Groups {
		out = append(out, attribute{groupAttr: g})
	}
	for _, k := range slices.Sorted(maps.Keys(u.Attributes)) { // stable order for logs and tests
		for _, v := range u.Attributes[k] {
			out = append(out, attribute{k: v})
		}
	}
	return out
}
