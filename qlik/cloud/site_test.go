package cloud

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
)

func TestSite(t *testing.T) {
	tests := map[string]string{
		"login.acme.com":          "acme.com",
		"qlik.acme.com":           "acme.com",
		"acme.eu.qlikcloud.com":   "qlikcloud.com",
		"auth.acme.co.uk":         "acme.co.uk",
		"127.0.0.1":               "127.0.0.1",
		"localhost":               "localhost",
		"LOGIN.ACME.COM.":         "acme.com",
		"tenant.us.qlikcloud.com": "qlikcloud.com",
	}
	for host, want := range tests {
		if got := site(host); got != want {
			t.Errorf("site(%q) = %q, want %q", host, got, want)
		}
	}
}

// openWithLog opens a target with public_url and returns what it logged,
// with the logger qlikgate gives a target (it names the target).
func openWithLog(t *testing.T, cfg *Config, publicURL string) string {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil)).With("target", "cloud")
	if _, err := Open(context.Background(), qlik.Common{ID: "cloud"}, cfg, qlik.Env{PublicURL: publicURL, Log: log}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestOpenWarnings(t *testing.T) {
	t.Run("cross-site", func(t *testing.T) {
		cfg := testConfig(t, "https://acme.eu.qlikcloud.com", RS256)
		out := openWithLog(t, cfg, "https://login.acme.com/")
		if !strings.Contains(out, "different sites") || !strings.Contains(out, "custom domain under acme.com") {
			t.Errorf("no cross-site warning: %s", out)
		}
		if n := strings.Count(out, "target=cloud"); n != 1 {
			t.Errorf("the warning names the target %d times, want once: %s", n, out)
		}
	})
	t.Run("same domain, plain http", func(t *testing.T) {
		cfg := testConfig(t, "https://qlik.acme.com", RS256)
		out := openWithLog(t, cfg, "http://login.acme.com/")
		if !strings.Contains(out, "different sites") || !strings.Contains(out, "serve qlikgate over https") || !strings.Contains(out, "public_url_scheme=http") {
			t.Errorf("no warning for http beside an https tenant: %s", out)
		}
	})
	t.Run("same site: custom domain", func(t *testing.T) {
		cfg := testConfig(t, "https://qlik.acme.com", RS256)
		if out := openWithLog(t, cfg, "https://login.acme.com/"); out != "" {
			t.Errorf("unexpected log: %s", out)
		}
	})
	t.Run("EC key", func(t *testing.T) {
		cfg := testConfig(t, "https://qlik.acme.com", ES256)
		if out := openWithLog(t, cfg, ""); !strings.Contains(out, "RS256") {
			t.Errorf("no RS256 hint for an EC key: %s", out)
		}
	})
	t.Run("readable key file", func(t *testing.T) {
		cfg := testConfig(t, "https://qlik.acme.com", RS256)
		if err := os.Chmod(cfg.PrivateKeyFile, 0o644); err != nil {
			t.Fatal(err)
		}
		if out := openWithLog(t, cfg, ""); !strings.Contains(out, "readable by other users") {
			t.Errorf("no permission warning: %s", out)
		}
	})
}
