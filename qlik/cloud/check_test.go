package cloud

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/check"
)

// TestDiagnose checks the key report and the tenant probe against the
// simulated tenant, an unrelated HTTPS server and a closed port.
func TestDiagnose(t *testing.T) {
	sim := startTenant(t, RS256)
	caFile := filepath.Join(t.TempDir(), "tenant-ca.pem")
	if err := os.WriteFile(caFile, sim.PKI().RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	notQlik := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(notQlik.Close)
	notQlikCA := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(notQlikCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: notQlik.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	down := httptest.NewTLSServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	tests := []struct {
		name   string
		alg    string
		tenant string
		caFile string
		mode   os.FileMode
		want   []string // "mark name-prefix: text in detail or fix"
	}{
		{name: "working", alg: RS256, tenant: sim.URL(), caFile: caFile, want: []string{
			`ok private_key_file: RSA 3072-bit key (RS256), key_id "qlikgate-1", issuer "qlikgate.test"; public key SHA-256 `,
			"ok ca_file: valid until",
			"ok tenant " + sim.URL() + ": answers over TLS (GET /api/v1/csrf-token: HTTP 401",
		}},
		{name: "EC key readable by others", alg: ES256, tenant: sim.URL(), caFile: caFile, mode: 0o644, want: []string{
			"ok private_key_file: EC P-256 key (ES256)",
			"warn private_key_file: Qlik's JWT guide asks for RS256",
			"warn private_key_file: readable by other users (mode -rw-r--r--)",
		}},
		{name: "tenant CA not trusted", alg: RS256, tenant: sim.URL(), want: []string{
			"fail tenant: certificate signed by unknown authority",
			"fail tenant: set ca_file",
		}},
		{name: "not a tenant", alg: RS256, tenant: notQlik.URL, caFile: notQlikCA, want: []string{
			"fail tenant: answered HTTP 404, not what a Qlik Cloud tenant answers",
		}},
		{name: "tenant down", alg: RS256, tenant: downURL, want: []string{
			"fail tenant: connection refused",
			"fail tenant: nothing accepts connections on " + strings.TrimPrefix(downURL, "https://"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, tt.tenant, tt.alg)
			cfg.CAFile = tt.caFile
			if tt.mode != 0 {
				if err := os.Chmod(cfg.PrivateKeyFile, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			rs := openTarget(t, cfg, time.Now()).Diagnose(context.Background())
			for _, w := range tt.want {
				if !has(rs, w) {
					t.Errorf("no result %q in:\n%s", w, render(rs))
				}
			}
		})
	}
}

// has matches "mark prefix: text" against the results.
func has(rs []check.Result, w string) bool {
	mark, rest, _ := strings.Cut(w, " ")
	prefix, text, _ := strings.Cut(rest, ": ")
	for _, r := range rs {
		m := "ok"
		if !r.OK {
			m = "fail"
		} else if r.Warn {
			m = "warn"
		}
		if m == mark && strings.HasPrefix(r.Name, prefix) && (strings.Contains(r.Detail, text) || strings.Contains(r.Fix, text)) {
			return true
		}
	}
	return false
}

func render(rs []check.Result) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.Name + " ok=" + map[bool]string{true: "y", false: "n"}[r.OK] + " warn=" + map[bool]string{true: "y", false: "n"}[r.Warn] + ": " + r.Detail + " | fix: " + r.Fix + "\n")
	}
	return b.String()
}
