package ldaptest

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestSlapd checks the helper itself: the server answers on both ports, with
// TLS verified against the generated CA, and memberOf is filled for nesting.
func TestSlapd(t *testing.T) {
	s, err := StartSlapd(t.TempDir())
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() { s.Stop() })
	tc, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.DN("alice"), "alicepass"); err != nil {
		t.Fatalf("alice bind over ldaps: %v", err)
	}
	res, err := c.Search(ldap.NewSearchRequest("cn=dev,ou=groups,"+s.BaseDN, ldap.ScopeBaseObject, 0, 0, 0, false,
		"(objectClass=*)", []string{"memberOf"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Entries[0].GetAttributeValues("memberOf"); len(got) != 1 || got[0] != "cn=engineering,ou=groups,"+s.BaseDN {
		t.Errorf("memberOf of dev = %q, want engineering", got)
	}
	// The server accepts unauthenticated binds: the provider's tests rely on it.
	if err := c.UnauthenticatedBind(s.DN("alice")); err != nil {
		t.Errorf("unauthenticated bind refused (%v): the empty-password test would prove nothing", err)
	}
}
