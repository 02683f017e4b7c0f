package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/web"
)

// TestBuildLeavesNoStartupGarbage: building the server (start, reload)
// hands back what opening the configuration left behind. The static
// provider hashes once at its cost to time unknown users like known ones;
// at static.DefaultArgon2 that is 19 MiB of garbage at once, which an
// idle heap would otherwise keep resident until its next collection, far
// off. A memory test, not a timed one: it counts bytes in use.
func TestBuildLeavesNoStartupGarbage(t *testing.T) {
	site := newSimSite(t, "hr", "pw")
	hash, err := static.HashPassword("pw", static.DefaultArgon2) // 19 MiB of garbage of its own
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(site.dir, "config.yaml")
	cfgText := fmt.Sprintf(`
server: {listen: %q, public_url: %q}
session: {secret: %q}
providers:
  - {id: local, kind: static, directory: CORP, static: {users: [{username: alice, password_hash: %q}]}}
`, site.addr, site.publicURL, strings.Repeat("k", 40), hash) + site.targets()
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	state, err := web.OpenState(cfg.Session)
	if err != nil {
		t.Fatal(err)
	}
	_, closeAll, err := build(context.Background(), cfg, state, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	const limit = 12 << 20 // the argon2id buffer alone is 19 MiB
	if m.HeapInuse > limit {
		t.Errorf("after build the heap holds %d MiB, more than %d MiB: the start-up hash's memory was not collected", m.HeapInuse>>20, limit>>20)
	}
	if retained := m.HeapIdle - m.HeapReleased; retained > limit {
		t.Errorf("after build the heap keeps %d MiB free but not returned to the OS, more than %d MiB", retained>>20, limit>>20)
	}
	t.Logf("after build: heap in use %d MiB, free and kept %d MiB", m.HeapInuse>>20, (m.HeapIdle-m.HeapReleased)>>20)
}
