package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// wantCheck is an expected result: one whose name starts with prefix, with
// this outcome, mentioning inDetail and inFix.
type wantCheck struct {
	prefix          string
	ok, warn        bool
	inDetail, inFix string
}

func findCheck(t *testing.T, rs []check.Result, w wantCheck) {
	t.Helper()
	for _, r := range rs {
		if strings.HasPrefix(r.Name, w.prefix) && r.OK == w.ok && r.Warn == w.warn &&
			strings.Contains(r.Detail, w.inDetail) && strings.Contains(r.Fix, w.inFix) {
			return
		}
	}
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.Name + ": ok=" + map[bool]string{true: "yes", false: "no"}[r.OK] + " " + r.Detail + " | fix: " + r.Fix + "\n")
	}
	t.Errorf("no result %+v in:\n%s", w, &b)
}

// TestDiagnoseSlapd checks each server and the bases against a real slapd.
func TestDiagnoseSlapd(t *testing.T) {
	s := needSlapd(t)
	dead, err := ldaptest.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	ldaps := func(c *Config) { c.URLs = []string{s.LDAPSURL}; c.CAFile = s.CAFile }
	tests := []struct {
		name string
		mods []func(*Config)
		want []wantCheck
	}{
		{name: "plain LDAP works but is warned about", want: []wantCheck{
			{prefix: "server " + s.URL, ok: true, warn: true, inDetail: `bound as "cn=svc,dc=example,dc=org"`, inFix: "start_tls: true"},
			{prefix: `user_base "dc=example,dc=org"`, ok: true, inDetail: "exists"},
			{prefix: `group_base "ou=groups,dc=example,dc=org"`, ok: true},
		}},
		{name: "ldaps with ca_file", mods: []func(*Config){ldaps}, want: []wantCheck{
			{prefix: "ca_file", ok: true, warn: true, inDetail: "expires on"}, // ldaptest's CA lives for a day
			{prefix: "server " + s.LDAPSURL, ok: true, inDetail: "connected over TLS (ldaps) and bound"},
		}},
		{name: "StartTLS", mods: []func(*Config){func(c *Config) { c.StartTLS, c.CAFile = true, s.CAFile }}, want: []wantCheck{
			{prefix: "server " + s.URL, ok: true, inDetail: "connected with StartTLS"},
		}},
		{name: "ldaps with the system roots", mods: []func(*Config){ldaps, func(c *Config) { c.CAFile = "" }}, want: []wantCheck{
			{prefix: "server " + s.LDAPSURL, inDetail: "certificate signed by unknown authority", inFix: "set ca_file"},
		}},
		{name: "ldaps on the plain port", mods: []func(*Config){ldaps, func(c *Config) { c.URLs = []string{"ldaps://" + s.Addr} }}, want: []wantCheck{
			{prefix: "server ldaps://" + s.Addr, inFix: "ldaps:// needs the LDAPS port"},
		}},
		{name: "one dead server of two", mods: []func(*Config){func(c *Config) { c.URLs = []string{"ldap://" + dead, s.URL} }}, want: []wantCheck{
			{prefix: "server ldap://" + dead, inDetail: "connection refused", inFix: "nothing accepts connections on " + dead},
			{prefix: "server " + s.URL, ok: true, warn: true},
			{prefix: "user_base", ok: true},
		}},
		{name: "wrong bind password", mods: []func(*Config){func(c *Config) { c.BindPassword = "nope" }}, want: []wantCheck{
			{prefix: "server " + s.URL, inDetail: "Invalid Credentials", inFix: "check bind_dn"},
		}},
		{name: "user_base that does not exist", mods: []func(*Config){func(c *Config) { c.UserBase = "ou=nobody,dc=example,dc=org" }}, want: []wantCheck{
			{prefix: "user_base", inDetail: "no such entry", inFix: "DN of an existing container"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := openProvider(t, slapdConfig(s, tt.mods...))
			rs := p.Diagnose(context.Background())
			for _, w := range tt.want {
				findCheck(t, rs, w)
			}
		})
	}
}

// TestBindFix covers Active Directory's refusals, which slapd does not give.
func TestBindFix(t *testing.T) {
	p := &Provider{}
	tests := []struct {
		err  *ldap.Error
		want string
	}{
		{&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563")}, "bind_password is wrong"},
		{&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563")}, "locked out"},
		{&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials}, "check bind_dn"},
		{&ldap.Error{ResultCode: ldap.LDAPResultStrongAuthRequired}, "requires TLS"},
	}
	for _, tt := range tests {
		if got := p.bindFix(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("bindFix(%v) = %q, want it to mention %q", tt.err, got, tt.want)
		}
	}
}

// TestDiagnosePasswordChange: check says when expired passwords are
// changed at sign-in, and why not on Active Directory over plain LDAP.
func TestDiagnosePasswordChange(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want *wantCheck
	}{
		{"enabled", func(c *Config) { c.ActiveDirectory, c.PasswordChange.Enabled = true, true },
			&wantCheck{prefix: "password_change", ok: true, inDetail: "change it on the sign-in page"}},
		{"AD over plain LDAP", func(c *Config) { c.ActiveDirectory, c.URLs = true, []string{"ldap://127.0.0.1:1"} },
			&wantCheck{prefix: "password_change", ok: true, warn: true, inDetail: "over plain LDAP (ldap://127.0.0.1:1)", inFix: "start_tls: true"}},
		{"AD over LDAPS, off", func(c *Config) { c.ActiveDirectory = true }, nil},
		{"OpenLDAP over plain LDAP", func(c *Config) { c.URLs = []string{"ldap://127.0.0.1:1"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := openProvider(t, *validConfig(tt.mod))
			r, ok := p.passwordChangeResult()
			if tt.want == nil {
				if ok {
					t.Fatalf("unexpected result %+v", r)
				}
				return
			}
			findCheck(t, []check.Result{r}, *tt.want)
		})
	}
}
