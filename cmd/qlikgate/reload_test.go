//go:build !windows

package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestServeReloadsOnSIGHUP: a new configuration is served after SIGHUP
// without dropping the listener; a broken one is refused with its problems
// and the running one stays.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	site := newSimSite(t, "hr", "pw")
	publicURL := site.publicURL
	path := filepath.Join(site.dir, "config.yaml")
	write := func(title, extra string) {
		cfg := fmt.Sprintf(`
server: {listen: %q, public_url: %q}
session: {secret: %q}
ui: {title: %q}
%s
providers:
  - {id: local, kind: static, directory: CORP, static: {users: [{username: alice, password_hash: %q}]}}
`, site.addr, publicURL, strings.Repeat("k", 40), title, extra, site.hash) + site.targets()
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("First Title", "")
	r := start(t, "serve", "-config", path)
	title := func() string {
		p, err := webtest.NewBrowser().Get(publicURL + "login")
		if err != nil || p.Status != http.StatusOK {
			return ""
		}
		for _, t := range []string{"First Title", "Second Title"} {
			if strings.Contains(p.Body, t) {
				return t
			}
		}
		return "?"
	}
	r.waitFor(t, "the first configuration", func() bool { return title() == "First Title" })

	write("Second Title", "")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the reloaded configuration", func() bool { return title() == "Second Title" })

	write("Third Title", "bogus_key: 1")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the refused reload", func() bool { return strings.Contains(r.stderr.String(), "reload_failed") })
	if !strings.Contains(r.stderr.String(), "bogus_key: unknown key") {
		t.Errorf("the refusal does not name the problem:\n%s", r.stderr)
	}
	if got := title(); got != "Second Title" {
		t.Fatalf("after a refused reload the page shows %q, want the running configuration", got)
	}
	if code := r.stop(t); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
}
