package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/config"
)

// TestRevocationFileResolvedNextToTheConfig: session.revocation_file
// defaults to a file next to the configuration, and a relative one is
// relative to it, as other file keys are; a broken file stops serve with
// an error naming the key.
func TestRevocationFileResolvedNextToTheConfig(t *testing.T) {
	site := newSimSite(t, "hr", "pw")
	abs := filepath.Join(t.TempDir(), "abs.json")
	tests := []struct{ value, stateDir, want string }{
		{"", "", filepath.Join(site.dir, "qlikgate-revoked.json")},
		{"revocation_file: state/revoked.json", "", filepath.Join(site.dir, "state", "revoked.json")},
		{"revocation_file: " + abs, "", abs},
		// systemd's StateDirectory= (and the image): the default goes there.
		{"", "/var/lib/qlikgate:/var/lib/other", "/var/lib/qlikgate/qlikgate-revoked.json"},
		{"revocation_file: state/revoked.json", "/var/lib/qlikgate", filepath.Join(site.dir, "state", "revoked.json")},
	}
	for _, tt := range tests {
		data := fmt.Sprintf(`
server: {listen: %q, public_url: %q}
session: {secret: %q, %s}
providers:
  - {id: local, kind: static, directory: CORP, static: {users: [{username: alice, password_hash: %q}]}}
`, site.addr, site.publicURL, strings.Repeat("k", 40), tt.value, site.hash) + site.targets()
		env := func(k string) (string, bool) {
			if k == "STATE_DIRECTORY" && tt.stateDir != "" {
				return tt.stateDir, true
			}
			return "", false
		}
		cfg, err := config.Parse([]byte(data), site.dir, env)
		if err != nil {
			t.Fatalf("%q: %v", tt.value, err)
		}
		if cfg.Session.RevocationFile != tt.want {
			t.Errorf("%q: revocation_file is %q, want %q", tt.value, cfg.Session.RevocationFile, tt.want)
		}
	}
}

func TestServeRefusesABrokenRevocationFile(t *testing.T) {
	site := newReloadSite(t)
	site.write(t, "First Title", "")
	if err := os.WriteFile(filepath.Join(site.dir, "qlikgate-revoked.json"), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := serveConfig(t.Context(), site.path, &stderr, nil)
	if code != exitConfig || !strings.Contains(stderr.String(), "session.revocation_file: ") || !strings.Contains(stderr.String(), "is not a qlikgate revocation list") {
		t.Fatalf("exit %d, want %d with an error naming session.revocation_file:\n%s", code, exitConfig, &stderr)
	}
}
