package sense

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// TicketKind registers the ticket flow under `kind: sense-ticket`.
var TicketKind = qlik.Kind{
	Name:      "sense-ticket",
	ConfigKey: "sense",
	NewConfig: func() qlik.Config { return DefaultConfig() },
	Open: func(_ context.Context, c qlik.Common, cfg qlik.Config, env qlik.Env) (qlik.Target, error) {
		return OpenTicket(c, cfg.(*Config), env.Log)
	},
}

// TicketTarget logs users in with a QPS ticket: POST {proxyRestUri}ticket,
// then redirect the browser to the TargetUri with qlikTicket.
type TicketTarget struct {
	id      string
	cfg     Config
	qps     *qpsClient
	allowed map[string]string // canonical QPS base → base as configured
	log     *slog.Logger
}

// OpenTicket loads the certificates and builds the QPS client.
func OpenTicket(c qlik.Common, cfg *Config, log *slog.Logger) (*TicketTarget, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsConf, leaf, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	if leaf != nil && time.Now().After(leaf.NotAfter) {
		log.Warn("the Qlik client certificate has expired: the QPS will refuse every hand-off",
			"target", c.ID, "not_after", leaf.NotAfter)
	}
	t := &TicketTarget{id: c.ID, cfg: *cfg, qps: newQPSClient(tlsConf, cfg.Timeout), allowed: map[string]string{}, log: log}
	for _, raw := range append([]string{cfg.ProxyRestURI}, cfg.AllowedProxyRestURIs...) {
		canon, _ := canonicalQPS(raw) // checked by Validate
		base := raw
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		t.allowed[canon] = base
	}
	return t, nil
}

// ID is the target's configured id.
func (t *TicketTarget) ID() string { return t.id }

// targetIDPattern is a GUID, the only form the QPS produces.
var targetIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ParseEntry validates targetId and proxyRestUri from the proxy's redirect.
// The proxyRestUri must be the configured one or allowlisted: the module
// authenticates to it with the site's client certificate.
func (t *TicketTarget) ParseEntry(q url.Values) (qlik.Entry, error) {
	e := qlik.Entry{ProxyRestURI: t.allowed[mustCanon(t.cfg.ProxyRestURI)]}
	if raw := q.Get("proxyRestUri"); raw != "" {
		canon, err := canonicalQPS(raw)
		if err != nil {
			return qlik.Entry{}, fmt.Errorf("%w: proxyRestUri: %v", qlik.ErrBadEntry, err)
		}
		base, ok := t.allowed[canon]
		if !ok {
			return qlik.Entry{}, fmt.Errorf("%w: proxyRestUri %q is neither proxy_rest_uri nor in allowed_proxy_rest_uris", qlik.ErrBadEntry, raw)
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

func mustCanon(raw string) string {
	c, _ := canonicalQPS(raw)
	return c
}

// base returns the QPS base for an entry. An entry stored in a session is
// checked again, in case the configuration changed since.
func (t *TicketTarget) base(e qlik.Entry) string {
	if e.ProxyRestURI != "" {
		if canon, err := canonicalQPS(e.ProxyRestURI); err == nil {
			if b, ok := t.allowed[canon]; ok {
				return b
			}
		}
	}
	return t.allowed[mustCanon(t.cfg.ProxyRestURI)]
}

// Login requests a ticket and redirects to the TargetUri (or the hub).
func (t *TicketTarget) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	if err := checkUser(u); err != nil {
		return qlik.Handoff{}, err
	}
	req := ticketRequest{
		UserDirectory: u.Directory,
		UserId:        u.UserID,
		Attributes:    attributes(u, t.cfg.GroupAttribute),
		TargetId:      e.TargetID,
	}
	base := t.base(e)
	var res ticketResponse
	err := t.qps.do(ctx, http.MethodPost, base, "ticket", req, &res)
	if err != nil && e.TargetID != "" && isStatus(err, http.StatusBadRequest) {
		// A stale targetId is refused by the QPS; the user still gets in, at
		// the hub instead of the page first asked for.
		t.log.WarnContext(ctx, "QPS refused the targetId; sending the user to the hub", "target", t.id, "cause", err)
		req.TargetId = ""
		err = t.qps.do(ctx, http.MethodPost, base, "ticket", req, &res)
	}
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: %w", t.id, err)
	}
	if res.Ticket == "" {
		return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: the QPS answered without a ticket", t.id)
	}
	dest := t.cfg.HubURL
	if req.TargetId != "" && res.TargetUri != "" {
		dest = res.TargetUri
	}
	redirect, err := withTicket(dest, res.Ticket)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: %w", t.id, err)
	}
	return qlik.Handoff{Redirect: redirect}, nil
}

// Logout ends every proxy session of the user on this virtual proxy.
func (t *TicketTarget) Logout(ctx context.Context, u qlik.User) (qlik.Handoff, error) {
	if err := checkUser(u); err != nil {
		return qlik.Handoff{}, err
	}
	path := "user/" + url.PathEscape(u.Directory) + "/" + url.PathEscape(u.UserID)
	if err := t.qps.do(ctx, http.MethodDelete, t.base(qlik.Entry{}), path, nil, nil); err != nil {
		return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: logout: %w", t.id, err)
	}
	return qlik.Handoff{}, nil
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

// withTicket adds qlikTicket to dest with net/url, keeping its query and
// fragment and dropping any ticket parameter already there.
func withTicket(dest, ticket string) (string, error) {
	u, err := url.Parse(dest)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", errors.New("the QPS returned a TargetUri that is not an absolute http(s) URL")
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "qlikticket") {
			q.Del(k)
		}
	}
	q.Set("qlikTicket", ticket)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
