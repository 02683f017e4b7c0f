package ldap

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// TestLookupIdentitySlapd: the identity found by user id without a
// password is the one Login gives; unknown, injected and differently
// cased ids are refused, and a directory that cannot be asked is
// unavailable.
func TestLookupIdentitySlapd(t *testing.T) {
	s := needSlapd(t)
	p, _ := openProvider(t, slapdConfig(s))
	login, err := p.Login(context.Background(), "alice", "alicepass")
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.LookupIdentity(context.Background(), login.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != login.UserID || id.Subject != login.Subject || !slices.Equal(id.Groups, login.Groups) || id.Name != login.Name {
		t.Fatalf("LookupIdentity = %+v, Login = %+v", id, login)
	}
	for _, bad := range []string{"mallory", "", "*", "alice)(uid=*", "twin"} {
		if _, err := p.LookupIdentity(context.Background(), bad); !errors.Is(err, providers.ErrBadCredentials) {
			t.Errorf("LookupIdentity(%q) = %v, want ErrBadCredentials", bad, err)
		}
	}
	// user_id_case: upper makes the user id ALICE; a lookup of "alice"
	// finds the entry but its id is ALICE, so only "ALICE" is that user.
	up, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.UserIDCase = caseUpper }))
	if id, err := up.LookupIdentity(context.Background(), "ALICE"); err != nil || id.UserID != "ALICE" {
		t.Fatalf("LookupIdentity(ALICE) with upper-cased ids = %+v %v", id, err)
	}
	if _, err := up.LookupIdentity(context.Background(), "alice"); !errors.Is(err, providers.ErrBadCredentials) {
		t.Errorf("LookupIdentity(alice) with upper-cased ids = %v, want refused", err)
	}
	closed, err := ldaptest.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	down, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs = []string{"ldap://" + closed} }))
	if _, err := down.LookupIdentity(context.Background(), "alice"); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("LookupIdentity with the directory down = %v, want ErrUnavailable", err)
	}
}
