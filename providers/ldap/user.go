package ldap

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers"
)

// fill replaces the placeholders of a filter with escaped values. This is
// the one place where input is escaped, exactly once.
func fill(filter, username, dn string) string {
	return strings.NewReplacer("{username}", ldap.EscapeFilter(username), "{dn}", ldap.EscapeFilter(dn)).Replace(filter)
}

// timeLimit is the server-side time limit for a search, in whole seconds.
func timeLimit(ctx context.Context) int {
	if dl, ok := ctx.Deadline(); ok {
		return max(1, int(math.Ceil(time.Until(dl).Seconds())))
	}
	return 0
}

// findUser searches for the one entry matching name. No entry and more than
// one entry are both refused like a wrong password.
func (p *Provider) findUser(ctx context.Context, c *conn, name string) (*ldap.Entry, error) {
	return p.findUserWith(ctx, c, p.cfg.UserFilter, name, p.userAttrs)
}

// findUserWith is findUser with another filter and attribute list (the
// Kerberos lookup's).
func (p *Provider) findUserWith(ctx context.Context, c *conn, userFilter, name string, attrs []string) (*ldap.Entry, error) {
	filter := fill(userFilter, name, "")
	// A size limit of 2 is enough to tell "one" from "several".
	req := ldap.NewSearchRequest(p.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, timeLimit(ctx), false, filter, attrs, nil)
	var res *ldap.SearchResult
	err := c.do(ctx, func(l *ldap.Conn) (err error) {
		res, err = l.Search(req)
		return err
	})
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || (err == nil && len(res.Entries) > 1):
		p.log.WarnContext(ctx, "ldap: the user filter matches several entries: refusing the login", "filter", filter, "base", p.cfg.UserBase)
		return nil, &providers.Failure{Reason: providers.ReasonAmbiguousUser, Err: providers.ErrBadCredentials}
	case err != nil:
		return nil, fmt.Errorf("ldap: search %q in %q: %w", filter, p.cfg.UserBase, err)
	case len(res.Entries) == 0:
		p.log.DebugContext(ctx, "ldap: no such user", "filter", filter)
		return nil, &providers.Failure{Reason: providers.ReasonUnknownUser, Err: providers.ErrBadCredentials}
	}
	p.log.DebugContext(ctx, "ldap: user found", "dn", res.Entries[0].DN, "url", c.server.url)
	return res.Entries[0], nil
}

// bindUser checks the password by binding as dn on a bind-only connection.
func (p *Provider) bindUser(ctx context.Context, dn, password string) error {
	return p.binds.run(ctx, func(c *conn) error {
		pp, err := p.bindOn(ctx, c, dn, password)
		if err != nil {
			return err
		}
		// Accepted, but ppolicy may say the password must be changed first.
		if f := p.policyBind(pp, nil, nil); f != nil {
			p.log.InfoContext(ctx, "ldap: user bind accepted, but the password must be changed", "dn", dn, "reason", f.Reason, "url", c.server.url)
			return f
		}
		return nil
	})
}

// bindOn binds c as dn and returns what a password policy said about it.
func (p *Provider) bindOn(ctx context.Context, c *conn, dn, password string) (*ldap.ControlBeheraPasswordPolicy, error) {
	req := ldap.NewSimpleBindRequest(dn, password, nil)
	if !p.cfg.ActiveDirectory {
		req.Controls = []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}
	}
	var pp *ldap.ControlBeheraPasswordPolicy
	err := c.do(ctx, func(l *ldap.Conn) error {
		res, err := l.SimpleBind(req)
		var controls []ldap.Control
		if res != nil {
			controls = res.Controls
		}
		pp = policyResult(nil, controls)
		return err
	})
	switch {
	case err == nil:
		p.log.DebugContext(ctx, "ldap: user bind accepted", "dn", dn, "url", c.server.url)
		return pp, nil
	case isTransport(err):
		return nil, fmt.Errorf("ldap: bind as %q: %w", dn, err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		f := p.policyBind(pp, err, bindFailure(diagnostic(err), p.cfg.PasswordChangeURL, err))
		p.log.InfoContext(ctx, "ldap: user bind refused", "dn", dn, "reason", f.Reason, "url", c.server.url)
		return nil, f
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInappropriateAuthentication, ldap.LDAPResultInsufficientAccessRights,
		ldap.LDAPResultUnwillingToPerform):
		// Policies (e.g. OpenLDAP's ppolicy, restricted accounts) refuse the
		// user without saying anything the user may see.
		f := &providers.Failure{Reason: providers.ReasonBindRefused, Err: wrapBad(err)}
		p.log.InfoContext(ctx, "ldap: user bind refused", "dn", dn, "reason", f.Reason, "cause", err.Error(), "url", c.server.url)
		return nil, f
	case ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired):
		return nil, unavailable("ldap: bind as %q: the server requires TLS for simple binds: use ldaps:// or start_tls: true: %w", dn, err)
	default:
		return nil, unavailable("ldap: bind as %q: %w", dn, err)
	}
}

// identity maps the user's entry to a Qlik identity.
func (p *Provider) identity(ctx context.Context, c *conn, e *ldap.Entry) (providers.Identity, error) {
	rawID := e.GetEqualFoldAttributeValue(p.cfg.UserIDAttribute)
	if strings.TrimSpace(rawID) == "" {
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonMissingUserID,
			Err: unavailable("ldap: %q has no %s attribute (user_id_attribute)", e.DN, p.cfg.UserIDAttribute)}
	}
	id := providers.Identity{
		Subject: e.DN,
		UserID:  applyCase(p.cfg.UserIDCase, rawID),
		Name:    e.GetEqualFoldAttributeValue(p.cfg.NameAttribute),
		Email:   e.GetEqualFoldAttributeValue(p.cfg.EmailAttribute),
	}
	for _, attr := range sortedKeys(p.cfg.Attributes) {
		if vals := e.GetEqualFoldAttributeValues(attr); len(vals) > 0 {
			if id.Attributes == nil {
				id.Attributes = map[string][]string{}
			}
			name := p.cfg.Attributes[attr]
			id.Attributes[name] = append(id.Attributes[name], vals...)
		}
	}
	groups, err := p.groups(ctx, c, e, rawID)
	if err != nil {
		return providers.Identity{}, err
	}
	id.Groups = groups
	return id, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
