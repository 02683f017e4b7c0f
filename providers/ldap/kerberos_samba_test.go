package ldap

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// withKerberos adds the fixture's keytab and SPN to an AD configuration.
func withKerberos(s *ldaptest.Samba, mods ...func(*KerberosConfig)) func(*Config) {
	return func(c *Config) {
		k := &KerberosConfig{KeytabFile: s.Keytab, ServicePrincipal: s.SPN}
		for _, m := range mods {
			m(k)
		}
		c.Kerberos = k
	}
}

func kerberosClient(t *testing.T, s *ldaptest.Samba, name string) *client.Client {
	t.Helper()
	cl, err := s.KerberosClient(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Destroy)
	return cl
}

// token is a Negotiate token of cl for spn, as Negotiate receives it.
func token(t *testing.T, cl *client.Client, spn string) []byte {
	t.Helper()
	h, err := ldaptest.NegotiateHeader(cl, spn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Negotiate "))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantReason(t *testing.T, err error, want providers.Reason) {
	t.Helper()
	var f *providers.Failure
	if !errors.As(err, &f) || !errors.Is(err, providers.ErrBadCredentials) || f.Reason != want {
		t.Fatalf("err = %v, want a bad-credentials failure with reason %s", err, want)
	}
}

// TestNegotiateSamba verifies real tickets from the Samba KDC and looks
// their users up in the same domain's directory.
func TestNegotiateSamba(t *testing.T) {
	s := needSamba(t)
	p, _ := openProvider(t, sambaConfig(s, withKerberos(s)))
	if !p.NegotiateEnabled() {
		t.Fatal("NegotiateEnabled = false with a kerberos block")
	}
	alice := kerberosClient(t, s, "alice")

	t.Run("alice", func(t *testing.T) {
		id, resp, err := p.Negotiate(context.Background(), token(t, alice, s.SPN))
		if err != nil {
			t.Fatal(err)
		}
		if id.UserID != "alice" || id.Name != "Alice Example" || id.Email != "alice@example.org" || id.Subject != s.DN("alice") ||
			!slices.Equal(id.Groups, []string{"AllStaff", "AppAdmins", "AppUsers"}) || id.Attributes["Department"][0] != "Sales" {
			t.Fatalf("identity = %+v", id)
		}
		if !bytes.Equal(resp, acceptCompleted) || base64.StdEncoding.EncodeToString(resp) != "oRQwEqADCgEAoQsGCSqGSIb3EgECAg==" {
			t.Fatalf("response token = %x, want SPNEGO accept-completed", resp)
		}
	})
	t.Run("replayed token", func(t *testing.T) {
		tok := token(t, alice, s.SPN)
		if _, _, err := p.Negotiate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		_, _, err := p.Negotiate(context.Background(), tok)
		wantReason(t, err, providers.ReasonReplay)
	})
	t.Run("ticket for another service", func(t *testing.T) {
		_, _, err := p.Negotiate(context.Background(), token(t, alice, s.OtherSPN))
		wantReason(t, err, providers.ReasonWrongService)
	})
	t.Run("NTLM token", func(t *testing.T) {
		ntlm, _ := base64.StdEncoding.DecodeString("TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==")
		_, _, err := p.Negotiate(context.Background(), ntlm)
		wantReason(t, err, providers.ReasonNTLMToken)
	})
	t.Run("not a token", func(t *testing.T) {
		_, _, err := p.Negotiate(context.Background(), []byte("hello"))
		wantReason(t, err, providers.ReasonNegotiateMalformed)
	})
	t.Run("realm not accepted", func(t *testing.T) {
		q, _ := openProvider(t, sambaConfig(s, withKerberos(s, func(k *KerberosConfig) { k.Realms = []string{"OTHER.EXAMPLE"} })))
		_, _, err := q.Negotiate(context.Background(), token(t, alice, s.SPN))
		wantReason(t, err, providers.ReasonForeignRealm)
	})
	t.Run("user not in the directory", func(t *testing.T) {
		q, _ := openProvider(t, sambaConfig(s, withKerberos(s), func(c *Config) { c.UserBase = "CN=Users," + s.BaseDN }))
		_, _, err := q.Negotiate(context.Background(), token(t, kerberosClient(t, s, "olga"), s.SPN))
		wantReason(t, err, providers.ReasonUnknownUser)
	})
	t.Run("account disabled after its ticket was issued", func(t *testing.T) {
		tok := token(t, kerberosClient(t, s, "kira"), s.SPN)
		if err := s.SetDisabled("kira", true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.SetDisabled("kira", false) })
		_, _, err := p.Negotiate(context.Background(), tok)
		wantReason(t, err, providers.ReasonAccountDisabled)
	})
	t.Run("account locked out after its ticket was issued", func(t *testing.T) {
		tok := token(t, kerberosClient(t, s, "kurt"), s.SPN)
		if err := s.LockOut("kurt"); err != nil {
			t.Fatal(err)
		}
		_, _, err := p.Negotiate(context.Background(), tok)
		wantReason(t, err, providers.ReasonAccountLocked)
	})
	t.Run("keytab exported by account", func(t *testing.T) {
		kt := filepath.Join(t.TempDir(), "account.keytab")
		if err := s.ExportKeytab(kt, "svc-http@"+s.KerberosRealm); err != nil {
			t.Fatal(err)
		}
		q, _ := openProvider(t, sambaConfig(s, withKerberos(s, func(k *KerberosConfig) { k.KeytabFile = kt })))
		id, _, err := q.Negotiate(context.Background(), token(t, alice, s.SPN))
		if err != nil || id.UserID != "alice" {
			t.Fatalf("Negotiate = %+v, %v", id, err)
		}
	})
}

// TestOpenKerberosErrors: a keytab that cannot serve the principal stops
// the start with the key named.
func TestOpenKerberosErrors(t *testing.T) {
	s := needSamba(t)
	missing := filepath.Join(t.TempDir(), "none.keytab")
	other := filepath.Join(t.TempDir(), "other.keytab")
	if err := s.ExportKeytab(other, s.OtherSPN); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(other, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*KerberosConfig)
		want string
	}{
		{"no such file", func(k *KerberosConfig) { k.KeytabFile = missing }, "kerberos.keytab_file: "},
		{"keys of another principal", func(k *KerberosConfig) { k.KeytabFile = other }, "kerberos.keytab_file: " + other + " holds no key for HTTP/qlikgate.test (it has HTTP/other.test@TEST.EXAMPLE.ORG)"},
		{"no SPN", func(k *KerberosConfig) { k.ServicePrincipal = "qlikgate.test" }, "kerberos.service_principal: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sambaConfig(s, withKerberos(s, tt.mod))
			_, err := Open(context.Background(), providers.Common{ID: "corp", Kind: "ldap", Directory: "CORP"}, &cfg, providers.Env{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want %q", err, tt.want)
			}
		})
	}
}
