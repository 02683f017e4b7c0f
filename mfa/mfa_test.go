package mfa

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// oathtool runs Debian's independent TOTP implementation.
func oathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("QLIKGATE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("oathtool is not installed (apt-get install oathtool) and QLIKGATE_REQUIRE_INTEGRATION is set")
		}
		t.Skip("oathtool is not installed (apt-get install oathtool)")
	}
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestMatchTOTPAgainstOathtool(t *testing.T) {
	k, err := NewTOTPKey("qlikgate", "alice")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_780_000_015, 0) // mid-step
	step := now.Unix() / Period
	tests := []struct {
		name     string
		offset   time.Duration
		ok       bool
		wantStep int64
	}{
		{"current step", 0, true, step},
		{"previous step", -30 * time.Second, true, step - 1},
		{"next step", 30 * time.Second, true, step + 1},
		{"two steps old", -60 * time.Second, false, 0},
		{"two steps ahead", 60 * time.Second, false, 0},
		{"an hour old", -time.Hour, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := oathtool(t, k.Secret(), now.Add(tc.offset))
			got, ok := MatchTOTP(k.Secret(), code, now)
			if ok != tc.ok || got != tc.wantStep {
				t.Fatalf("MatchTOTP(oathtool code at %v) = %d, %v; want %d, %v", tc.offset, got, ok, tc.wantStep, tc.ok)
			}
		})
	}
}

func TestRFC6238Vector(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, truncated to six digits: T=59 → 94287082.
	if _, ok := MatchTOTP("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "287082", time.Unix(59, 0)); !ok {
		t.Fatal("the RFC 6238 test vector did not match")
	}
}

func TestParseCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true}, {" 123 456 ", "123456", true}, {"123-456", "123456", true},
		{"12345", "", false}, {"1234567", "", false}, {"12345a", "", false}, {"１２３４５６", "", false},
		{"", "", false}, {strings.Repeat("1", 100), "", false},
	} {
		got, ok := ParseCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", "12 34 56", "", "abcdef", "１２３４５６"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := ParseCode(s)
		if !ok {
			return
		}
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("ParseCode(%q) accepted %q", s, code)
		}
		if again, ok := ParseCode(code); !ok || again != code {
			t.Fatalf("ParseCode is not idempotent on %q", code)
		}
	})
}

func TestRecoveryCodes(t *testing.T) {
	codes := NewRecoveryCodes()
	if len(codes) != RecoveryCodes {
		t.Fatalf("%d codes, want %d", len(codes), RecoveryCodes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		p, ok := ParseRecoveryCode(strings.ToLower(strings.ReplaceAll(c, "-", " ")))
		if !ok || p != c {
			t.Fatalf("ParseRecoveryCode(lowercased %q) = %q, %v", c, p, ok)
		}
		if seen[c] {
			t.Fatalf("duplicate code %q", c)
		}
		seen[c] = true
		if HashRecoveryCode(c) == c || len(HashRecoveryCode(c)) != 64 {
			t.Fatalf("hash of %q is %q", c, HashRecoveryCode(c))
		}
	}
	for _, bad := range []string{"", "ABCDE", "ABCDE-FGHI0", "ABCDE-FGHIJK", strings.Repeat("A", 100)} {
		if _, ok := ParseRecoveryCode(bad); ok {
			t.Errorf("ParseRecoveryCode(%q) accepted", bad)
		}
	}
}

func FuzzParseRecoveryCode(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK", "abcde fghjk", "", "-----", "ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := ParseRecoveryCode(s)
		if !ok {
			return
		}
		if len(code) != 11 || code[5] != '-' {
			t.Fatalf("ParseRecoveryCode(%q) accepted %q", s, code)
		}
		if again, ok := ParseRecoveryCode(code); !ok || again != code {
			t.Fatalf("ParseRecoveryCode is not idempotent on %q", code)
		}
	})
}

func TestSealerRotation(t *testing.T) {
	oldSecret, newSecret := strings.Repeat("o", 32), strings.Repeat("n", 32)
	old, err := NewSealer(oldSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Seal("corp/alice", "JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatal("the sealed form contains the secret")
	}
	rotated, err := NewSealer(newSecret, []string{oldSecret})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open("corp/alice", sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("after rotation: %q, %v", got, err)
	}
	if _, err := rotated.Open("corp/bob", sealed); err != ErrUnsealable {
		t.Fatalf("alice's secret opened for bob: %v", err)
	}
	dropped, _ := NewSealer(newSecret, nil)
	if _, err := dropped.Open("corp/alice", sealed); err != ErrUnsealable {
		t.Fatalf("without the old secret: %v, want ErrUnsealable", err)
	}
	if _, err := NewSealer("short", nil); err == nil || !strings.Contains(err.Error(), "secret:") {
		t.Fatalf("a short secret: %v", err)
	}
}

func TestQRCodeIsPNG(t *testing.T) {
	b, err := QRCode("Analytics", "alice", "JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if img.Bounds().Dx() != 240 {
		t.Fatalf("width %d", img.Bounds().Dx())
	}
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		err  string
	}{
		{"default", DefaultPolicy(), ""},
		{"required", Policy{Mode: ModeRequired, Methods: []string{MethodTOTP}, RequiredGroups: []string{"Admins"}}, ""},
		{"bad mode", Policy{Mode: "always", Methods: []string{MethodTOTP}}, `mode: "always" is not supported`},
		{"webauthn", Policy{Mode: ModeOptional, Methods: []string{"totp", "webauthn"}}, ""},
		{"passwordless", Policy{Mode: ModeRequired, Methods: []string{"webauthn"}, Passwordless: true}, ""},
		{"passwordless without webauthn", Policy{Mode: ModeRequired, Methods: []string{"totp"}, Passwordless: true}, "passwordless: needs"},
		{"passwordless with mode off", Policy{Mode: ModeOff, Methods: []string{"webauthn"}, Passwordless: true}, "passwordless: needs"},
		{"method twice", Policy{Mode: ModeOptional, Methods: []string{"webauthn", "webauthn"}}, "methods[1]: webauthn is listed twice"},
		{"unknown method", Policy{Mode: ModeOptional, Methods: []string{"sms"}}, `methods[0]: "sms" is not a method`},
		{"no method", Policy{Mode: ModeOptional}, "methods: at least one"},
		{"groups without required", Policy{Mode: ModeOptional, Methods: []string{"totp"}, RequiredGroups: []string{"A"}}, "required_groups: set, but mode"},
		{"colon in issuer", Policy{Mode: ModeOptional, Methods: []string{"totp"}, IssuerName: "a:b"}, "issuer_name:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.err)
			}
		})
	}
	p := Policy{Mode: ModeRequired, RequiredGroups: []string{"Admins"}}
	if !p.Requires([]string{"users", "admins"}) || p.Requires([]string{"users"}) {
		t.Fatal("required_groups is not applied without case")
	}
	if !(Policy{Mode: ModeRequired}).Requires(nil) || (Policy{Mode: ModeOptional}).Requires(nil) {
		t.Fatal("Requires is wrong without groups")
	}
}

func TestRelyingPartyOf(t *testing.T) {
	for _, tc := range []struct {
		url, rpID       string
		id, origin, err string
	}{
		{"https://sso.example.org/qlik/", "", "sso.example.org", "https://sso.example.org", ""},
		{"https://SSO.example.org:443/", "", "sso.example.org", "https://sso.example.org", ""},
		{"https://sso.example.org:8443/", "", "sso.example.org", "https://sso.example.org:8443", ""},
		{"http://localhost:8080/", "", "localhost", "http://localhost:8080", ""},
		{"https://sso.example.org/", "example.org", "example.org", "https://sso.example.org", ""},
		{"https://sso.example.org/", "sso.example.org.", "sso.example.org", "https://sso.example.org", ""},
		{"https://10.0.0.5/", "", "", "", "server.public_url: \"https://10.0.0.5/\": passkeys (mfa methods: [webauthn]) need a host name"},
		{"https://[::1]:8443/", "", "", "", "need a host name"},
		{"http://sso.example.org/", "", "", "", "server.public_url: \"http://sso.example.org/\" is plain http"},
		{"https://sso.example.org/", "other.example.org", "", "", `mfa.rp_id: "other.example.org" is neither the host of server.public_url`},
		{"https://sso.example.org/", "ample.org", "", "", "mfa.rp_id:"},
		{"https://sso.example.co.uk/", "co.uk", "", "", `mfa.rp_id: "co.uk" is a public suffix`},
	} {
		id, origin, err := RelyingPartyOf(tc.url, tc.rpID)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("RelyingPartyOf(%q, %q) = %v, want an error with %q", tc.url, tc.rpID, err, tc.err)
			}
			continue
		}
		if err != nil || id != tc.id || origin != tc.origin {
			t.Errorf("RelyingPartyOf(%q, %q) = %q %q %v, want %q %q", tc.url, tc.rpID, id, origin, err, tc.id, tc.origin)
		}
	}
	if _, err := NewRelyingParty("http://localhost:1/", "", "Qlik"); err != nil {
		t.Fatal(err)
	}
}
