package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestServeAppliesAccessRules: the access block of a target in the file
// reaches the running server, so a member of a denied group gets 403 and
// the QPS is never asked for a ticket.
func TestServeAppliesAccessRules(t *testing.T) {
	site := newSimSite(t, "hr", "pw")
	cfg := fmt.Sprintf(`
server: {listen: %q, public_url: %q}
session: {secret: %q}
log: {format: json}
providers:
  - id: local
    kind: static
    directory: CORP
    static: {users: [{username: alice, password_hash: %q, groups: [Contractors]}, {username: bob, password_hash: %q, groups: [Sales]}]}
`, site.addr, site.publicURL, strings.Repeat("k", 40), site.hash, site.hash) +
		strings.Replace(site.targets(), "    kind: sense-ticket\n", "    kind: sense-ticket\n    access: {denied_groups: [contractors]}\n", 1)
	path := filepath.Join(site.dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, "serve", "-config", path)
	r.waitHealthy(t, site.publicURL)
	b := webtest.NewBrowser()
	login := b.MustGet(t, site.sim.HubURL())
	if p := b.MustPostForm(t, site.publicURL+"login", login.MustLoginForm(t, "alice", "pw")); p.Status != http.StatusForbidden {
		t.Fatalf("alice, a contractor: %d %s, want 403\n%s", p.Status, p.URL, p.Body)
	}
	if n := site.sim.Stats().TicketsIssued; n != 0 {
		t.Errorf("%d tickets issued for a denied user", n)
	}
	b = webtest.NewBrowser()
	login = b.MustGet(t, site.sim.HubURL())
	if p := b.MustPostForm(t, site.publicURL+"login", login.MustLoginForm(t, "bob", "pw")); p.HubUser() != `CORP\bob` {
		t.Fatalf("bob: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	r.stop(t)
	if logs := r.stderr.String(); !strings.Contains(logs, `"event":"access_denied","target":"sense","user":"alice","provider":"local","rule":"denied_group=contractors"`) {
		t.Errorf("log lacks the access_denied event:\n%s", logs)
	}
}
