package ldaptest

import (
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// AddUsers adds enabled accounts CN=<name>,CN=Users,<BaseDN> with the test
// password (Password) and a Kerberos principal <name>@<Realm>, members of
// AppUsers: many distinct users for load runs (qlikgate-bench), where the
// fixture's own accounts are too few and each have a special state.
func (s *Samba) AddUsers(names ...string) error {
	c, err := s.adminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	group := ldap.NewModifyRequest("CN=AppUsers,CN=Users,"+s.BaseDN, nil)
	for _, name := range names {
		req := ldap.NewAddRequest(s.DN(name), nil)
		for k, v := range map[string][]string{"objectClass": {"user"}, "sAMAccountName": {name},
			"userPrincipalName": {name + "@" + s.Realm}, "displayName": {"Virtual User " + name},
			"unicodePwd": {adPassword(s.Password(name))}, "userAccountControl": {"512"}} {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			return fmt.Errorf("ldaptest: add %s: %w", name, err)
		}
		group.Add("member", []string{s.DN(name)})
	}
	if len(names) > 0 {
		if err := c.Modify(group); err != nil {
			return fmt.Errorf("ldaptest: add the users to AppUsers: %w", err)
		}
	}
	return nil
}

// PID is the Samba process's id.
func (s *Samba) PID() int {
	if s.proc == nil || s.proc.cmd == nil || s.proc.cmd.Process == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// adminConn is an LDAPS connection to the DC bound as Administrator, for
// the fixture's own changes to the directory.
func (s *Samba) adminConn() (*ldap.Conn, error) {
	tc, err := tlsConfigFor(s.CAFile)
	if err != nil {
		return nil, err
	}
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	if err := c.Bind("Administrator@"+s.Realm, sambaAdminPass); err != nil {
		c.Close()
		return nil, fmt.Errorf("ldaptest: bind as Administrator: %w", err)
	}
	return c, nil
}
