package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Bounds of the iterative nested-group search: deep enough for real
// hierarchies, small enough that a cycle or a huge directory cannot turn
// one login into thousands of searches.
const (
	maxNestingDepth = 10
	maxGroups       = 1000
	filterBatch     = 32 // groups whose parents are looked up with one OR filter
	groupPageSize   = 500
)

// groupSet collects groups by DN, so each is visited once (cycles end).
type groupSet struct {
	names map[string]string // lower-cased DN → name ("" until known)
	dns   []string          // as returned, in discovery order
}

// add records dn and reports whether it is new.
func (g *groupSet) add(dn, name string) bool {
	key := strings.ToLower(dn)
	if old, seen := g.names[key]; seen {
		if old == "" && name != "" {
			g.names[key] = name
		}
		return false
	}
	g.names[key] = name
	g.dns = append(g.dns, dn)
	return true
}

func (g *groupSet) name(dn string) string { return g.names[strings.ToLower(dn)] }

// groups returns the names of the user's groups: from the group search
// and/or the member-of attribute, plus nested groups when configured.
func (p *Provider) groups(ctx context.Context, c *conn, user *ldap.Entry, userID string) ([]string, error) {
	g := &groupSet{names: map[string]string{}}
	var direct []string
	if p.cfg.MemberOfAttribute != "" {
		for _, dn := range user.GetEqualFoldAttributeValues(p.cfg.MemberOfAttribute) {
			if g.add(dn, "") {
				direct = append(direct, dn)
			}
		}
	}
	if p.cfg.groupSearch() {
		// With active_directory and nested_groups the filter uses AD's in-chain
		// rule, so this one search already returns the nested groups.
		entries, err := p.searchGroups(ctx, c, fill(p.cfg.GroupFilter, userID, user.DN))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if g.add(e.DN, p.groupName(e)) {
				direct = append(direct, e.DN)
			}
		}
	}
	if p.cfg.nested() && !p.cfg.ActiveDirectory {
		if err := p.expand(ctx, c, g, direct); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(g.dns))
	for _, dn := range g.dns {
		name := g.name(dn)
		if name == "" {
			var err error
			if name, err = p.readGroupName(ctx, c, dn); err != nil {
				return nil, err
			}
		}
		if name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// expand adds the groups that contain the given groups, level by level,
// without the in-chain rule that only AD has. Visited groups are skipped,
// so cycles end; the depth and count bounds stop pathological directories.
func (p *Provider) expand(ctx context.Context, c *conn, g *groupSet, frontier []string) error {
	for depth := 0; len(frontier) > 0; depth++ {
		if depth == maxNestingDepth || len(g.dns) >= maxGroups {
			p.log.WarnContext(ctx, "ldap: nested groups cut short", "depth", depth, "groups", len(g.dns))
			return nil
		}
		var next []string
		if p.cfg.groupSearch() {
			for batch := range slices.Chunk(frontier, filterBatch) {
				var f strings.Builder
				f.WriteString("(|")
				for _, dn := range batch {
					// A group stands in for the user: {dn} is its DN, {username} its name.
					f.WriteString(fill(p.cfg.GroupFilter, g.name(dn), dn))
				}
				f.WriteString(")")
				entries, err := p.searchGroups(ctx, c, f.String())
				if err != nil {
					return err
				}
				for _, e := range entries {
					if g.add(e.DN, p.groupName(e)) {
						next = append(next, e.DN)
					}
				}
			}
		}
		if p.cfg.MemberOfAttribute != "" {
			for _, dn := range frontier {
				e, err := p.readEntry(ctx, c, dn, p.cfg.GroupNameAttribute, p.cfg.MemberOfAttribute)
				if err != nil {
					return err
				}
				if e == nil {
					continue
				}
				g.add(dn, p.groupName(e))
				for _, parent := range e.GetEqualFoldAttributeValues(p.cfg.MemberOfAttribute) {
					if g.add(parent, "") {
						next = append(next, parent)
					}
				}
			}
		}
		frontier = next
	}
	return nil
}

func (p *Provider) searchGroups(ctx context.Context, c *conn, filter string) ([]*ldap.Entry, error) {
	req := ldap.NewSearchRequest(p.cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, timeLimit(ctx), false,
		filter, []string{p.cfg.GroupNameAttribute}, nil)
	var res *ldap.SearchResult
	err := c.do(ctx, func(l *ldap.Conn) (err error) {
		res, err = l.SearchWithPaging(req, groupPageSize)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ldap: group search %q in %q: %w", filter, p.cfg.GroupBase, err)
	}
	return res.Entries, nil
}

// readEntry reads attributes of one entry; a missing entry is nil, not an
// error (a member-of value may point to a group that was just deleted).
func (p *Provider) readEntry(ctx context.Context, c *conn, dn string, attrs ...string) (*ldap.Entry, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, timeLimit(ctx), false,
		"(objectClass=*)", attrs, nil)
	var res *ldap.SearchResult
	err := c.do(ctx, func(l *ldap.Conn) (err error) {
		res, err = l.Search(req)
		return err
	})
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("ldap: read %q: %w", dn, err)
	case len(res.Entries) == 0:
		return nil, nil
	}
	return res.Entries[0], nil
}

// groupName is the group's name attribute, or the value of its first RDN.
func (p *Provider) groupName(e *ldap.Entry) string {
	if v := e.GetEqualFoldAttributeValue(p.cfg.GroupNameAttribute); v != "" {
		return v
	}
	_, v := firstRDN(e.DN)
	return v
}

// readGroupName names a group known only by DN (from member-of). When the
// DN's first RDN is the name attribute (CN=Sales,… with cn) no read is needed.
func (p *Provider) readGroupName(ctx context.Context, c *conn, dn string) (string, error) {
	typ, val := firstRDN(dn)
	if strings.EqualFold(typ, p.cfg.GroupNameAttribute) {
		return val, nil
	}
	e, err := p.readEntry(ctx, c, dn, p.cfg.GroupNameAttribute)
	if err != nil || e == nil {
		return val, err
	}
	return p.groupName(e), nil
}

func firstRDN(dn string) (typ, val string) {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return "", ""
	}
	a := d.RDNs[0].Attributes[0]
	return a.Type, a.Value
}
