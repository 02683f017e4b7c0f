package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
)

// TestLoginSamba runs the Active Directory preset against a real Samba AD DC
// over LDAPS: sAMAccountName/UPN filter, in-chain nested groups and the AD
// bind sub-codes, each produced by the server for a real account.
func TestLoginSamba(t *testing.T) {
	s := needSamba(t)
	const changeURL = "https://password.example.org/"
	expired := strings.Replace(textExpiredAt, "%s", changeURL, 1)
	// A filter without the preset's "not disabled" clause, to see AD's own answer.
	anyAccount := func(c *Config) { c.UserFilter = "(&(objectClass=user)(sAMAccountName={username}))" }
	tests := []struct {
		name       string
		mods       []func(*Config)
		user, pw   string
		wantID     string
		wantGroups []string
		wantReason string
		wantText   string
		needAged   bool
	}{
		{name: "right password", user: "alice", pw: s.Password("alice"), wantID: "alice",
			wantGroups: []string{"AllStaff", "AppAdmins", "AppUsers"}},
		{name: "DOMAIN prefix", user: `TEST\alice`, pw: s.Password("alice"), wantID: "alice",
			wantGroups: []string{"AllStaff", "AppAdmins", "AppUsers"}},
		{name: "DOMAIN prefix in lower case", user: `test\alice`, pw: s.Password("alice"), wantID: "alice",
			wantGroups: []string{"AllStaff", "AppAdmins", "AppUsers"}},
		{name: "foreign DOMAIN prefix, right password", user: `X\alice`, pw: s.Password("alice"), wantReason: "foreign_domain"},
		{name: "foreign realm, right password", user: "alice@x", pw: s.Password("alice"), wantReason: "foreign_domain",
			mods: []func(*Config){func(c *Config) { c.Username.StripRealm = true }}},
		{name: "own realm stripped", user: "alice@" + strings.ToUpper(s.Realm), pw: s.Password("alice"), wantID: "alice",
			wantGroups: []string{"AllStaff", "AppAdmins", "AppUsers"}, mods: []func(*Config){func(c *Config) { c.Username.StripRealm = true }}},
		{name: "userPrincipalName", user: "alice@" + s.Realm, pw: s.Password("alice"), wantID: "alice",
			wantGroups: []string{"AllStaff", "AppAdmins", "AppUsers"}},
		{name: "upper-case", user: "ALICE", pw: s.Password("alice"), wantID: "alice",
			wantGroups: []string{"AllStaff", "AppAdmins", "AppUsers"}},
		{name: "no nesting without nested_groups", user: "alice", pw: s.Password("alice"), wantID: "alice",
			wantGroups: []string{"AppAdmins", "AppUsers"}, mods: []func(*Config){func(c *Config) { off := false; c.NestedGroups = &off }}},
		{name: "memberOf and in-chain together", user: "bob", pw: s.Password("bob"), wantID: "bob",
			wantGroups: []string{"AllStaff", "AppUsers"}, mods: []func(*Config){func(c *Config) { c.MemberOfAttribute = "memberOf" }}},
		{name: "wrong password (52e)", user: "alice", pw: "Wrong-Passw0rd!", wantReason: "wrong_password"},
		{name: "unknown user", user: "mallory", pw: "Wrong-Passw0rd!", wantReason: "unknown_user"},
		{name: "filter injection", user: "*", pw: s.Password("alice"), wantReason: "unknown_user"},
		{name: "disabled: refused by the preset filter", user: "dora", pw: s.Password("dora"), wantReason: "unknown_user"},
		{name: "disabled (533)", user: "dora", pw: s.Password("dora"), wantReason: "account_disabled", wantText: textRestricted,
			mods: []func(*Config){anyAccount}},
		{name: "disabled, wrong password", user: "dora", pw: "Wrong-Passw0rd!", wantReason: "wrong_password",
			mods: []func(*Config){anyAccount}},
		{name: "must change password (773)", user: "mike", pw: s.Password("mike"), wantReason: "password_must_change", wantText: expired},
		{name: "must change, wrong password", user: "mike", pw: "Wrong-Passw0rd!", wantReason: "wrong_password"},
		{name: "must change, no change URL", user: "mike", pw: s.Password("mike"), wantReason: "password_must_change", wantText: textExpired,
			mods: []func(*Config){func(c *Config) { c.PasswordChangeURL = "" }}},
		{name: "password expired (532)", user: "pete", pw: s.Password("pete"), wantReason: "password_expired", wantText: expired, needAged: true},
		{name: "account expired (701)", user: "eve", pw: s.Password("eve"), wantReason: "account_expired", wantText: textRestricted},
		{name: "logon hours (530)", user: "hank", pw: s.Password("hank"), wantReason: "logon_hours_restricted", wantText: textRestricted},
		{name: "workstation (531)", user: "wes", pw: s.Password("wes"), wantReason: "workstation_restricted", wantText: textRestricted},
		// AD answers 775 whatever the password, so the user sees the same as for a wrong password.
		{name: "locked (775)", user: "lou", pw: s.Password("lou"), wantReason: "account_locked"},
		{name: "locked, wrong password (775)", user: "lou", pw: "Wrong-Passw0rd!", wantReason: "account_locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needAged && !s.PasswordExpired {
				t.Skipf("Samba could not age the password: %v", s.PasswordExpiredErr)
			}
			p, _ := openProvider(t, sambaConfig(s, tt.mods...))
			id, err := p.Login(context.Background(), tt.user, tt.pw)
			if tt.wantReason != "" {
				wantFailure(t, err, tt.wantReason, tt.wantText)
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if id.UserID != tt.wantID || !slices.Equal(id.Groups, tt.wantGroups) {
				t.Fatalf("identity = {UserID %q, Groups %q}, want {%q, %q}", id.UserID, id.Groups, tt.wantID, tt.wantGroups)
			}
		})
	}
}

// TestIdentitySamba checks the fields the AD preset maps.
func TestIdentitySamba(t *testing.T) {
	s := needSamba(t)
	p, _ := openProvider(t, sambaConfig(s))
	id, err := p.Login(context.Background(), "alice@"+s.Realm, s.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != s.DN("alice") || id.UserID != "alice" || id.Name != "Alice Example" || id.Email != "alice@example.org" ||
		!slices.Equal(id.Attributes["Department"], []string{"Sales"}) {
		t.Errorf("identity = %+v", id)
	}
}

// TestSambaStrongAuth: like a default AD, the DC refuses simple binds without
// TLS. Plain ldap:// fails with an error that says what to do; StartTLS works.
func TestSambaStrongAuth(t *testing.T) {
	s := needSamba(t)
	plain, _ := openProvider(t, sambaConfig(s, func(c *Config) { c.URLs = []string{s.URL} }))
	_, err := plain.Login(context.Background(), "alice", s.Password("alice"))
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "requires TLS") {
		t.Fatalf("plain LDAP: err = %v, want ErrUnavailable saying TLS is required", err)
	}
	tls, _ := openProvider(t, sambaConfig(s, func(c *Config) { c.URLs, c.StartTLS = []string{s.URL}, true }))
	if id, err := tls.Login(context.Background(), "alice", s.Password("alice")); err != nil || id.UserID != "alice" {
		t.Fatalf("StartTLS: %q, %v", id.UserID, err)
	}
}

// TestSambaWrongPasswordDoesNotLockOut guards the test setup itself: the
// domain locks accounts after ldaptest.LockoutThreshold wrong passwords, and
// a success resets the count, so alice must still log in after the table.
func TestSambaWrongPasswordDoesNotLockOut(t *testing.T) {
	s := needSamba(t)
	p, _ := openProvider(t, sambaConfig(s))
	if _, err := p.Login(context.Background(), "alice", s.Password("alice")); err != nil {
		t.Fatal(err)
	}
}

// TestAccountGateSamba: every name that finds one AD account (the
// sAMAccountName, its case, the DOMAIN\ form, the userPrincipalName)
// reports the same account to the caller's gate before the bind, and a
// gate that refuses stops the login with ErrThrottled, even with the right
// password.
func TestAccountGateSamba(t *testing.T) {
	s := needSamba(t)
	p, _ := openProvider(t, sambaConfig(s))
	var seen []string
	gate := func(_ context.Context, account string) error { seen = append(seen, account); return nil }
	for _, user := range []string{"alice", "ALICE", `TEST\alice`, "alice@" + s.Realm} {
		if _, err := p.Login(providers.WithAccountGate(context.Background(), gate), user, s.Password("alice")); err != nil {
			t.Fatalf("%s: %v", user, err)
		}
	}
	want := strings.ToLower(s.DN("alice"))
	if len(seen) != 4 || slices.ContainsFunc(seen, func(a string) bool { return a != want }) {
		t.Fatalf("accounts reported %q, want %q four times", seen, want)
	}
	refuse := func(context.Context, string) error { return fmt.Errorf("wait: %w", providers.ErrThrottled) }
	_, err := p.Login(providers.WithAccountGate(context.Background(), refuse), "alice", s.Password("alice"))
	if !errors.Is(err, providers.ErrThrottled) {
		t.Fatalf("a refusing gate: %v, want ErrThrottled", err)
	}
}
