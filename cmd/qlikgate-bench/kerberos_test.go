package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// TestKerberosFlows runs the Windows sign-in flows briefly against the
// Samba AD DC: both complete with no error, each login ends at the hub as
// CORP\vu000N (checkAtQlik), the Kerberos one with no form. Without Samba
// it skips, or fails with QLIKGATE_REQUIRE_INTEGRATION=1.
func TestKerberosFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Samba AD DC (about 15 s); run without -short")
	}
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	args := []string{"-flows", "kerberos,ad-password", "-users", "2", "-duration", "500ms", "-warmup", "200ms",
		"-compare=false", "-pki", "ecdsa", "-json", jsonPath}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, &out, &errOut); code != exitOK {
		if strings.Contains(errOut.String(), "need the Samba AD DC") {
			ldaptest.SkipOrFail(t, &ldaptest.Unavailable{Reason: strings.TrimSpace(errOut.String())})
		}
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	rep := readReport(t, jsonPath)
	want := []string{flowKerberos, flowADPassword}
	if len(rep.Flows) != len(want) {
		t.Fatalf("flows %+v, want %v", rep.Flows, want)
	}
	for i, f := range rep.Flows {
		if f.Flow != want[i] {
			t.Errorf("flow %d is %q, want %q", i, f.Flow, want[i])
		}
		checkFlow(t, f, 2)
		if !strings.Contains(out.String(), f.Flow) {
			t.Errorf("the table does not show the %s flow:\n%s", f.Flow, out.String())
		}
	}
}

// TestKerberosFlowsParse: the flows are known to -flows, not in -url mode.
func TestKerberosFlowsParse(t *testing.T) {
	var errOut bytes.Buffer
	if _, err := parseOptions([]string{"-flows", "kerberos,ad-password"}, &errOut); err != nil {
		t.Errorf("-flows kerberos,ad-password: %v", err)
	}
	if _, err := parseOptions([]string{"-flows", "kerberos", "-url", "http://127.0.0.1:1/", "-user", "a", "-password", "b"}, &errOut); err == nil {
		t.Error("-url with -flows kerberos: no error")
	}
}
