package oidc

import (
	"context"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
)

// TestDiagnose checks discovery against a real OP: working, misnamed,
// behind an unknown CA, and down.
func TestDiagnose(t *testing.T) {
	op := oidctest.Start(t)
	tlsOP := oidctest.StartTLS(t)
	down := oidctest.Start(t)
	down.Stop()
	tests := []struct {
		name     string
		op       *oidctest.OP
		mod      func(*Config)
		ok       bool
		inDetail string
		inFix    string
	}{
		{name: "working", op: op, ok: true, inDetail: "discovery document read; sign-in goes to " + op.Issuer()},
		{name: "issuer without its trailing slash", op: op, mod: func(c *Config) { c.Issuer = strings.TrimSuffix(c.Issuer, "/") },
			inDetail: "did not match", inFix: `set issuer to exactly "` + op.Issuer() + `"`},
		{name: "wrong path", op: op, mod: func(c *Config) { c.Issuer += "realms/nope" },
			inDetail: "404", inFix: "there is no discovery document at " + op.Issuer() + "realms/nope/.well-known/openid-configuration"},
		{name: "private CA in ca_file", op: tlsOP, mod: func(c *Config) { c.CAFile = tlsOP.CAFile() }, ok: true, inDetail: "discovery document read"},
		{name: "private CA not configured", op: tlsOP, inDetail: "certificate signed by unknown authority", inFix: "set ca_file"},
		{name: "issuer down", op: down, inDetail: "connection refused", inFix: "nothing accepts connections on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newClient(t, tt.op, nil)
			if tt.mod != nil {
				tt.mod(&cfg)
			}
			rs := openProvider(t, cfg).Diagnose(context.Background())
			r := rs[len(rs)-1]
			if !strings.HasPrefix(r.Name, "issuer ") || r.OK != tt.ok || !strings.Contains(r.Detail, tt.inDetail) || !strings.Contains(r.Fix, tt.inFix) {
				t.Errorf("got %+v\nwant OK=%v, detail ∋ %q, fix ∋ %q", r, tt.ok, tt.inDetail, tt.inFix)
			}
			if tt.op == tlsOP && tt.ok && !hasPassing(rs, "ca_file ") {
				t.Errorf("ca_file not checked: %+v", rs)
			}
		})
	}
}

func hasPassing(rs []check.Result, prefix string) bool {
	for _, r := range rs {
		if strings.HasPrefix(r.Name, prefix) && r.OK {
			return true
		}
	}
	return false
}
