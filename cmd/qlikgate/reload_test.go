//go:build !windows

package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestServeReloadsOnSIGHUP: a new configuration is served after SIGHUP
// without dropping the listener; a broken one is refused with its problems
// and the running one stays.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	site := newReloadSite(t)
	site.write(t, "First Title", "")
	r := start(t, "serve", "-config", site.path)
	r.waitFor(t, "the first configuration", func() bool { return site.title() == "First Title" })

	site.write(t, "Second Title", "")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the reloaded configuration", func() bool { return site.title() == "Second Title" })

	site.write(t, "Third Title", "bogus_key: 1")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the refused reload", func() bool { return strings.Contains(r.stderr.String(), "reload_failed") })
	if !strings.Contains(r.stderr.String(), "bogus_key: unknown key") {
		t.Errorf("the refusal does not name the problem:\n%s", r.stderr)
	}
	if got := site.title(); got != "Second Title" {
		t.Fatalf("after a refused reload the page shows %q, want the running configuration", got)
	}
	if code := r.stop(t); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
}
