package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers"
)

// naiveLDAP checks passwords the way many public modules do, with go-ldap
// directly: per login a new LDAPS connection (TCP and TLS handshake), a
// bind as the service account, the user search, a bind as the user and the
// group search, then the connection is closed. It reads the same
// attributes and uses the same filters as qlikgate's provider with its
// OpenLDAP defaults, so the directory does the same work; only the
// connections differ.
type naiveLDAP struct {
	url                  string
	tls                  *tls.Config
	bindDN, bindPassword string
	userBase, groupBase  string
	timeout, dialTimeout time.Duration
}

func (p *naiveLDAP) Login(ctx context.Context, username, password string) (providers.Identity, error) {
	if username == "" || password == "" {
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonEmptyPassword, Err: providers.ErrBadCredentials}
	}
	c, err := goldap.DialURL(p.url, goldap.DialWithTLSConfig(p.tls), goldap.DialWithDialer(&net.Dialer{Timeout: p.dialTimeout}))
	if err != nil {
		return providers.Identity{}, fmt.Errorf("%w: naive ldap: %w", providers.ErrUnavailable, err)
	}
	defer c.Close()
	c.SetTimeout(p.timeout)
	if err := c.Bind(p.bindDN, p.bindPassword); err != nil {
		return providers.Identity{}, fmt.Errorf("%w: naive ldap: service bind: %w", providers.ErrUnavailable, err)
	}
	users, err := c.Search(goldap.NewSearchRequest(p.userBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false,
		"(&(objectClass=inetOrgPerson)(uid="+goldap.EscapeFilter(username)+"))", []string{"uid", "cn", "mail"}, nil))
	if err != nil {
		return providers.Identity{}, fmt.Errorf("%w: naive ldap: user search: %w", providers.ErrUnavailable, err)
	}
	if len(users.Entries) != 1 {
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonUnknownUser, Err: providers.ErrBadCredentials}
	}
	e := users.Entries[0]
	if err := c.Bind(e.DN, password); err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			return providers.Identity{}, &providers.Failure{Reason: providers.ReasonWrongPassword, Err: providers.ErrBadCredentials}
		}
		return providers.Identity{}, fmt.Errorf("%w: naive ldap: user bind: %w", providers.ErrUnavailable, err)
	}
	dn := goldap.EscapeFilter(e.DN)
	groups, err := c.Search(goldap.NewSearchRequest(p.groupBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(|(&(objectClass=groupOfNames)(member="+dn+"))(&(objectClass=groupOfUniqueNames)(uniqueMember="+dn+")))", []string{"cn"}, nil))
	if err != nil {
		return providers.Identity{}, fmt.Errorf("%w: naive ldap: group search: %w", providers.ErrUnavailable, err)
	}
	id := providers.Identity{
		Subject: e.DN, UserID: e.GetAttributeValue("uid"),
		Name: e.GetAttributeValue("cn"), Email: e.GetAttributeValue("mail"),
	}
	for _, g := range groups.Entries {
		id.Groups = append(id.Groups, g.GetAttributeValue("cn"))
	}
	return id, nil
}
