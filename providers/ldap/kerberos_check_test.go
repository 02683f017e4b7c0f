package ldap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// TestDiagnoseKerberosSamba: `qlikgate check` reads the keytab and asks the
// Samba KDC for its clock.
func TestDiagnoseKerberosSamba(t *testing.T) {
	s := needSamba(t)
	t.Setenv("KRB5_CONFIG", s.Krb5Conf)
	dir := t.TempDir()
	copyTo := func(name string, mode os.FileMode) string {
		b, err := os.ReadFile(s.Keytab)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rc4 := keytab.New()
	if err := rc4.AddEntry(s.SPN, s.KerberosRealm, "any", time.Now(), 1, etypeID.RC4_HMAC); err != nil {
		t.Fatal(err)
	}
	rc4File := filepath.Join(dir, "rc4.keytab")
	if b, err := rc4.Marshal(); err != nil || os.WriteFile(rc4File, b, 0o600) != nil {
		t.Fatal(err)
	}
	dead, err := ldaptest.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	deadConf := filepath.Join(dir, "dead.conf")
	if err := os.WriteFile(deadConf, []byte("[realms]\n TEST.EXAMPLE.ORG = {\n  kdc = "+dead+"\n }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		keytab string
		conf   string
		want   []wantCheck
	}{
		{"AES keytab, KDC in time", copyTo("ok.keytab", 0o600), "", []wantCheck{
			{prefix: "kerberos.keytab_file", ok: true, inDetail: "readable by its owner only"},
			{prefix: "kerberos.service_principal", ok: true, inDetail: "HTTP/qlikgate.test: keys aes256-cts-hmac-sha1-96 (kvno 1), aes128-cts-hmac-sha1-96 (kvno 1)"},
			{prefix: "kerberos KDC clock", ok: true, inDetail: "from this machine's clock (allowed: 5m0s)"},
		}},
		{"readable by others", copyTo("open.keytab", 0o644), "", []wantCheck{
			{prefix: "kerberos.keytab_file", ok: true, warn: true, inDetail: "readable by other accounts", inFix: "chmod 600"},
		}},
		{"RC4 only", rc4File, "", []wantCheck{
			{prefix: "kerberos.service_principal", ok: true, warn: true, inDetail: "RC4 keys only (arcfour-hmac-md5 (kvno 1))", inFix: "msDS-SupportedEncryptionTypes"},
		}},
		{"KDC unreachable", copyTo("ok2.keytab", 0o600), deadConf, []wantCheck{
			{prefix: "kerberos KDC clock", ok: true, warn: true, inDetail: "no KDC of TEST.EXAMPLE.ORG answered"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.conf != "" {
				t.Setenv("KRB5_CONFIG", tt.conf)
			}
			p, _ := openProvider(t, sambaConfig(s, withKerberos(s, func(k *KerberosConfig) { k.KeytabFile = tt.keytab })))
			rs := p.Diagnose(context.Background())
			for _, w := range tt.want {
				findCheck(t, rs, w)
			}
			for _, r := range rs {
				if strings.HasPrefix(r.Name, "kerberos") && !r.OK {
					t.Errorf("unexpected failure %s: %s", r.Name, r.Detail)
				}
			}
		})
	}
}
