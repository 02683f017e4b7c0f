package ldap

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// TestLoginSlapd runs logins against a real OpenLDAP server.
func TestLoginSlapd(t *testing.T) {
	s := needSlapd(t)
	nested := func(c *Config) { on := true; c.NestedGroups = &on }
	memberOfOnly := func(c *Config) { c.GroupBase, c.MemberOfAttribute = "", "memberOf" }
	tests := []struct {
		name       string
		mods       []func(*Config)
		user, pw   string
		wantID     string   // success: the Qlik UserId
		wantGroups []string // success
		wantReason string   // failure
	}{
		{name: "right password", user: "alice", pw: "alicepass", wantID: "alice", wantGroups: []string{"admins", "users"}},
		{name: "wrong password", user: "alice", pw: "bobpass", wantReason: "wrong_password"},
		{name: "password is case-sensitive", user: "alice", pw: "ALICEPASS", wantReason: "wrong_password"},
		{name: "unknown user", user: "mallory", pw: "alicepass", wantReason: "unknown_user"},
		{name: "empty password", user: "alice", pw: "", wantReason: "empty_password"},
		{name: "blank username", user: "  ", pw: "alicepass", wantReason: "invalid_username"},
		{name: "wildcard", user: "*", pw: "alicepass", wantReason: "unknown_user"},
		{name: "wildcard prefix", user: "al*", pw: "alicepass", wantReason: "unknown_user"},
		{name: "filter injection", user: "alice)(uid=*", pw: "alicepass", wantReason: "unknown_user"},
		{name: "filter injection with OR", user: "admin)(|(uid=*", pw: "alicepass", wantReason: "unknown_user"},
		{name: "escaped star stays literal", user: `\2a`, pw: "alicepass", wantReason: "unknown_user",
			mods: []func(*Config){func(c *Config) { c.Username.StripDomain = false }}},
		{name: "two entries match", user: "twin", pw: "twinpass", wantReason: "ambiguous_user"},
		{name: "special characters in the name", user: `st*r(1)\x`, pw: "oddpass", wantID: `st*r(1)\x`,
			mods: []func(*Config){func(c *Config) { c.Username.StripDomain = false }}},
		{name: "non-ASCII name", user: "jürgen", pw: "jürgenpass", wantID: "jürgen"},
		{name: "upper-case input", user: "ALICE", pw: "alicepass", wantID: "alice", wantGroups: []string{"admins", "users"}},
		{name: "DOMAIN prefix", user: `EXAMPLE\alice`, pw: "alicepass", wantID: "alice", wantGroups: []string{"admins", "users"}},
		{name: "realm suffix", user: "alice@example.org", pw: "alicepass", wantID: "alice", wantGroups: []string{"admins", "users"},
			mods: []func(*Config){func(c *Config) { c.Username.StripRealm = true }}},
		{name: "realm kept when not stripped", user: "alice@example.org", pw: "alicepass", wantReason: "unknown_user"},
		{name: "user id upper-cased", user: "alice", pw: "alicepass", wantID: "ALICE", wantGroups: []string{"admins", "users"},
			mods: []func(*Config){func(c *Config) { c.UserIDCase = caseUpper }}},
		{name: "no groups", user: "carol", pw: "carolpass", wantID: "carol"},
		{name: "direct groups only", user: "dave", pw: "davepass", wantID: "dave", wantGroups: []string{"dev"}},
		{name: "nested by group search", user: "dave", pw: "davepass", wantID: "dave",
			wantGroups: []string{"dev", "engineering", "staff"}, mods: []func(*Config){nested}},
		{name: "cycle by group search", user: "erin", pw: "erinpass", wantID: "erin",
			wantGroups: []string{"cycle-a", "cycle-b"}, mods: []func(*Config){nested}},
		{name: "memberOf", user: "alice", pw: "alicepass", wantID: "alice", wantGroups: []string{"admins", "users"},
			mods: []func(*Config){memberOfOnly}},
		{name: "nested by memberOf", user: "dave", pw: "davepass", wantID: "dave",
			wantGroups: []string{"dev", "engineering", "staff"}, mods: []func(*Config){memberOfOnly, nested}},
		{name: "cycle by memberOf", user: "erin", pw: "erinpass", wantID: "erin",
			wantGroups: []string{"cycle-a", "cycle-b"}, mods: []func(*Config){memberOfOnly, nested}},
		{name: "anonymous search", user: "bob", pw: "bobpass", wantID: "bob", wantGroups: []string{"users"},
			mods: []func(*Config){func(c *Config) { c.BindDN, c.BindPassword, c.AnonymousSearch = "", "", true }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := openProvider(t, slapdConfig(s, tt.mods...))
			id, err := p.Login(context.Background(), tt.user, tt.pw)
			if tt.wantReason != "" {
				wantFailure(t, err, tt.wantReason, "")
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

// TestIdentitySlapd checks every field mapped from the entry.
func TestIdentitySlapd(t *testing.T) {
	s := needSlapd(t)
	p, _ := openProvider(t, slapdConfig(s))
	id, err := p.Login(context.Background(), "jürgen", "jürgenpass")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != s.DN("jürgen") || id.Name != "Jürgen Müller" || id.Email != "juergen@example.org" ||
		!slices.Equal(id.Attributes["Department"], []string{"D-jürgen"}) || len(id.Attributes) != 1 {
		t.Errorf("identity = %+v", id)
	}
}

// TestEmptyPasswordNeverReachesServer proves the empty-password check runs
// before any network traffic, against a server that would accept the
// unauthenticated bind (so a missing check would log the user in).
func TestEmptyPasswordNeverReachesServer(t *testing.T) {
	s := needSlapd(t)
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UnauthenticatedBind(s.DN("alice")); err != nil {
		t.Fatalf("the test server refuses unauthenticated binds (%v), so this test would prove nothing", err)
	}
	c.Close()
	proxy := startProxy(t, s.Addr)
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs = []string{proxy.URL} }))
	for _, user := range []string{"alice", "mallory", ""} {
		_, err := p.Login(context.Background(), user, "")
		if err == nil {
			t.Fatalf("empty password for %q accepted", user)
		}
	}
	if n := proxy.Accepted(); n != 0 {
		t.Errorf("%d connections to the server for empty passwords, want 0", n)
	}
}

// TestSameAnswerForUnknownUserAndWrongPassword checks what reaches the user.
func TestSameAnswerForUnknownUserAndWrongPassword(t *testing.T) {
	s := needSlapd(t)
	p, _ := openProvider(t, slapdConfig(s))
	_, wrong := p.Login(context.Background(), "alice", "nope")
	_, unknown := p.Login(context.Background(), "nobody", "nope")
	wantFailure(t, wrong, "wrong_password", "")
	wantFailure(t, unknown, "unknown_user", "")
}

// TestNoPasswordInLogs logs at debug level through good and bad logins.
func TestNoPasswordInLogs(t *testing.T) {
	s := needSlapd(t)
	p, logs := openProvider(t, slapdConfig(s))
	secrets := []string{"alicepass", "Wr0ng-Secret", s.BindPass}
	_, _ = p.Login(context.Background(), "alice", "alicepass")
	_, _ = p.Login(context.Background(), "alice", "Wr0ng-Secret")
	_, _ = p.Login(context.Background(), "nobody", "Wr0ng-Secret")
	out := logs.String()
	if !strings.Contains(out, "user bind refused") {
		t.Fatalf("expected debug/info logs, got:\n%s", out)
	}
	for _, sec := range secrets {
		if strings.Contains(out, sec) {
			t.Errorf("a password (%q) appears in the logs:\n%s", sec, out)
		}
	}
}

func startProxy(t testing.TB, target string) *ldaptest.Proxy {
	t.Helper()
	proxy, err := ldaptest.StartProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return proxy
}
