package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// TestTLS checks ldaps:// and StartTLS with verified certificates: the
// right CA works, another CA or the system roots fail, and turning
// verification off works but is logged loudly.
func TestTLS(t *testing.T) {
	s := needSlapd(t)
	otherCA, err := ldaptest.WriteOtherCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ldaps := func(c *Config) { c.URLs = []string{s.LDAPSURL}; c.CAFile = s.CAFile }
	startTLS := func(c *Config) { c.StartTLS = true; c.CAFile = s.CAFile }
	tests := []struct {
		name     string
		mods     []func(*Config)
		wantErr  string // substring of an ErrUnavailable error; "" for success
		wantWarn string
	}{
		{name: "ldaps with ca_file", mods: []func(*Config){ldaps}},
		{name: "StartTLS with ca_file", mods: []func(*Config){startTLS}},
		{name: "ldaps with another CA", mods: []func(*Config){ldaps, func(c *Config) { c.CAFile = otherCA }}, wantErr: "certificate"},
		{name: "StartTLS with another CA", mods: []func(*Config){startTLS, func(c *Config) { c.CAFile = otherCA }}, wantErr: "certificate"},
		{name: "ldaps with the system roots", mods: []func(*Config){ldaps, func(c *Config) { c.CAFile = "" }}, wantErr: "certificate"},
		{name: "insecure_skip_verify", mods: []func(*Config){ldaps, func(c *Config) { c.CAFile, c.InsecureSkipVerify = otherCA, true }},
			wantWarn: "TLS CERTIFICATE VERIFICATION IS OFF"},
		{name: "plain LDAP is warned about", wantWarn: "passwords are sent in clear text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, logs := openProvider(t, slapdConfig(s, tt.mods...))
			if tt.wantWarn != "" && !strings.Contains(logs.String(), tt.wantWarn) {
				t.Errorf("no warning %q at Open; logs:\n%s", tt.wantWarn, logs)
			}
			id, err := p.Login(context.Background(), "alice", "alicepass")
			if tt.wantErr == "" {
				if err != nil || id.UserID != "alice" {
					t.Fatalf("Login = %q, %v", id.UserID, err)
				}
				return
			}
			if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrUnavailable mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestStartTLSIsFirst checks on the wire that StartTLS is the first request
// of every connection, before any password is sent.
func TestStartTLSIsFirst(t *testing.T) {
	s := needSlapd(t)
	proxy := startProxy(t, s.Addr)
	p, _ := openProvider(t, slapdConfig(s, func(c *Config) { c.URLs, c.StartTLS, c.CAFile = []string{proxy.URL}, true, s.CAFile }))
	if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
		t.Fatal(err)
	}
	conns := proxy.Conns()
	if len(conns) == 0 {
		t.Fatal("no connection seen")
	}
	for i, ops := range conns {
		if len(ops) != 1 || ops[0].Kind != "starttls" {
			t.Errorf("connection %d: requests in clear text %+v, want only starttls", i, ops)
		}
	}
}
