package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/mfa"
)

// withMFA adds an mfa block to the provider and a top-level mfa block.
func withMFA(provider, top string) string {
	s := strings.Replace(validYAML, "    directory: CORP\n", "    directory: CORP\n"+provider, 1)
	return s + top
}

const mfaSecret = "mfa:\n  secret: \"an-mfa-secret-of-at-least-32-bytes-0123\"\n"

func TestMFAConfigErrorsNameTheirKeys(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"passwordless without webauthn", withMFA("    mfa: {mode: required, methods: [totp], passwordless: true}\n", mfaSecret),
			[]string{"providers[0].mfa.passwordless: needs mode optional or required and webauthn in methods"}},
		{"passkeys on an IP address", strings.Replace(withMFA("    mfa: {mode: required, methods: [totp, webauthn]}\n", mfaSecret), "https://auth.example.com/", "https://10.1.2.3/qlik/", 1),
			[]string{"server.public_url: \"https://10.1.2.3/qlik/\": passkeys (mfa methods: [webauthn]) need a host name"}},
		{"rp_id not a parent of the host", withMFA("    mfa: {mode: required, methods: [webauthn]}\n", mfaSecret+"  rp_id: example.net\n"),
			[]string{`mfa.rp_id: "example.net" is neither the host of server.public_url`}},
		{"bad mode", withMFA("    mfa: {mode: always}\n", mfaSecret), []string{`providers[0].mfa.mode: "always" is not supported`}},
		{"unknown key", withMFA("    mfa: {mode: required, issuer: x}\n", mfaSecret), []string{`providers[0].mfa.issuer: unknown key`}},
		{"no secret", withMFA("    mfa: {mode: optional}\n", ""), []string{"mfa.secret: required when a provider has mfa.mode"}},
		{"short secret", withMFA("    mfa: {mode: optional}\n", "mfa: {secret: short}\n"), []string{"mfa.secret: 5 bytes is too short"}},
		{"short previous secret", withMFA("    mfa: {mode: optional}\n", strings.TrimSuffix(mfaSecret, "\n")+"\n  previous_secrets: [old]\n"),
			[]string{"mfa.previous_secrets[0]: 3 bytes is too short"}},
		{"postgres without DSN", withMFA("    mfa: {mode: optional}\n", mfaSecret+"  store: postgres\n"), []string{"mfa.postgres_dsn: required with store: postgres"}},
		{"unknown store", withMFA("    mfa: {mode: optional}\n", mfaSecret+"  store: mysql\n"), []string{`mfa.store: "mysql" is not supported`}},
		{"required_groups without required", withMFA("    mfa: {mode: optional, required_groups: [Admins]}\n", mfaSecret),
			[]string{"providers[0].mfa.required_groups: set, but mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), t.TempDir(), env(nil))
			if err == nil {
				t.Fatal("bad configuration accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestMFAConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	c, err := Parse([]byte(withMFA("    mfa: {mode: required, required_groups: [Admins]}\n", mfaSecret)), dir, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.MFAUsed() || c.Providers[0].MFA.Mode != mfa.ModeRequired || c.Providers[0].MFA.Methods[0] != mfa.MethodTOTP {
		t.Fatalf("policy = %+v", c.Providers[0].MFA)
	}
	if want := filepath.Join(dir, mfa.DefaultSQLiteFile); c.MFA.Store != mfa.StoreSQLite || c.MFA.SQLiteFile != want {
		t.Fatalf("store = %q %q, want sqlite %q (next to the configuration)", c.MFA.Store, c.MFA.SQLiteFile, want)
	}
	c, err = Parse([]byte(withMFA("    mfa: {mode: optional}\n", mfaSecret)), dir, env(map[string]string{"STATE_DIRECTORY": "/var/lib/qlikgate"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/var/lib/qlikgate", mfa.DefaultSQLiteFile); c.MFA.SQLiteFile != want {
		t.Fatalf("under StateDirectory=: %q, want %q", c.MFA.SQLiteFile, want)
	}
	// Without MFA nothing is required.
	c, err = Parse([]byte(validYAML), dir, env(nil))
	if err != nil || c.MFAUsed() {
		t.Fatalf("without mfa: %v, used %v", err, c != nil && c.MFAUsed())
	}
}
