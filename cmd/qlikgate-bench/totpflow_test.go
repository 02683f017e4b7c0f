package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestTOTPFlowRuns runs the totp flow briefly against each store: every
// iteration must pass the password, the code form and the hub (the flow
// fails an iteration that does not reach the code form or ends anywhere
// but MFA\account at the hub). With QLIKGATE_REQUIRE_INTEGRATION set, a
// missing PostgreSQL fails the postgres case.
func TestTOTPFlowRuns(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "postgres" && pgBinDir() == "" {
				if os.Getenv("QLIKGATE_REQUIRE_INTEGRATION") != "" {
					t.Fatal("PostgreSQL is not installed (apt-get install postgresql) and QLIKGATE_REQUIRE_INTEGRATION is set")
				}
				t.Skip("PostgreSQL is not installed (apt-get install postgresql)")
			}
			jsonPath := filepath.Join(t.TempDir(), "bench.json")
			// A code is accepted once per account and 30 s step, so the
			// accounts must outnumber what 0.9 s can use at any speed this
			// machine reaches (with 40, a quiet machine used them all).
			args := []string{"-flows", "totp", "-mfa-store", kind, "-users", "2", "-totp-accounts", "400",
				"-duration", "700ms", "-warmup", "200ms", "-compare=false", "-slapd", "off", "-pki", "ecdsa", "-json", jsonPath}
			var out, errOut bytes.Buffer
			if code := run(context.Background(), args, &out, &errOut); code != exitOK {
				t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
			}
			rep := readReport(t, jsonPath)
			if len(rep.Flows) != 1 || rep.Flows[0].Flow != flowTOTP {
				t.Fatalf("flows %+v, want one totp flow", rep.Flows)
			}
			checkFlow(t, rep.Flows[0], 2)
			if rep.Setup.MFAStore == "" {
				t.Error("the report does not name the MFA store")
			}
		})
	}
}

// TestRotationUsesAnAccountOncePerStep: the store accepts a code once per
// account and step, so a virtual user must not hand out an account twice
// in a step, and must say so when it has none left.
func TestRotationUsesAnAccountOncePerStep(t *testing.T) {
	r := &rotation{mine: []*totpAccount{{name: "a"}, {name: "b"}}}
	seen := map[string]bool{}
	for range 2 {
		a, err := r.take(100)
		if err != nil {
			t.Fatal(err)
		}
		if seen[a.name] {
			t.Fatalf("%s handed out twice in step 100", a.name)
		}
		seen[a.name] = true
	}
	if _, err := r.take(100); !errors.Is(err, errAccountsUsedUp) {
		t.Fatalf("third take in step 100: %v, want errAccountsUsedUp", err)
	}
	if a, err := r.take(101); err != nil || a.lastStep != 101 {
		t.Fatalf("take in step 101: %+v, %v", a, err)
	}
}

func TestTOTPOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", []string{"-flows", "totp"}, true},
		{"postgres", []string{"-flows", "totp", "-mfa-store", "postgres"}, true},
		{"unknown store", []string{"-flows", "totp", "-mfa-store", "mysql"}, false},
		{"fewer accounts than users", []string{"-flows", "totp", "-users", "8", "-totp-accounts", "4"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, &bytes.Buffer{})
			if (err == nil) != tt.ok {
				t.Fatalf("parseOptions(%v): %v, want ok %t", tt.args, err, tt.ok)
			}
		})
	}
}
