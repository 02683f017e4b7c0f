package ldap

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
)

// TestLookupIdentitySamba: a passkey sign-in on Active Directory is
// refused for the accounts a password bind is refused for, with their
// reasons: disabled (dora) and locked out (lou, locked with wrong
// passwords when the domain was set up). The provider has no kerberos
// block: the check must not depend on one.
func TestLookupIdentitySamba(t *testing.T) {
	s := needSamba(t)
	p, logs := openProvider(t, sambaConfig(s))
	login, err := p.Login(context.Background(), "alice", s.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.LookupIdentity(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != login.UserID || id.Subject != login.Subject || !slices.Equal(id.Groups, login.Groups) || id.Email != login.Email {
		t.Fatalf("LookupIdentity = %+v, Login = %+v", id, login)
	}
	for _, c := range []struct {
		user string
		want providers.Reason
	}{
		{"dora", providers.ReasonAccountDisabled},
		{"lou", providers.ReasonAccountLocked},
		{"nobody", providers.ReasonUnknownUser},
	} {
		t.Run(c.user, func(t *testing.T) {
			// A password bind refuses the same accounts, so the two ways in agree.
			if c.user != "nobody" {
				if _, err := p.Login(context.Background(), c.user, s.Password(c.user)); err == nil {
					t.Fatalf("a password login of %s succeeded: the fixture is not what this test assumes", c.user)
				}
			}
			_, err := p.LookupIdentity(context.Background(), c.user)
			wantReason(t, err, c.want)
		})
	}
	if !strings.Contains(logs.String(), "passkey sign-in of a refused account") {
		t.Error("no log line says a passkey sign-in of a refused account was refused")
	}
}
