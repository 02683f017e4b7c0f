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

// reloadSite is a configuration file against a simulated Sense site, for
// tests that change the file under a running serve and watch the login
// page's title tell which version is served.
type reloadSite struct {
	simSite
	path string
}

// reloadTitles are the titles reload tests write, in that order; the
// third comes with a broken configuration and must never be served.
var reloadTitles = []string{"First Title", "Second Title", "Third Title"}

func newReloadSite(t *testing.T) reloadSite {
	t.Helper()
	site := newSimSite(t, "hr", "pw")
	return reloadSite{simSite: site, path: filepath.Join(site.dir, "config.yaml")}
}

// write replaces the configuration: title for ui.title, extra for more
// top-level keys (a bogus one makes it invalid).
func (s reloadSite) write(t *testing.T, title, extra string) {
	t.Helper()
	cfg := fmt.Sprintf(`
server: {listen: %q, public_url: %q}
session: {secret: %q}
ui: {title: %q}
%s
providers:
  - {id: local, kind: static, directory: CORP, static: {users: [{username: alice, password_hash: %q}]}}
`, s.addr, s.publicURL, strings.Repeat("k", 40), title, extra, s.hash) + s.targets()
	if err := os.WriteFile(s.path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// title is which of reloadTitles the login page shows: "" when nothing
// answers, "?" when none of them.
func (s reloadSite) title() string {
	p, err := webtest.NewBrowser().Get(s.publicURL + "login")
	if err != nil || p.Status != http.StatusOK {
		return ""
	}
	for _, t := range reloadTitles {
		if strings.Contains(p.Body, t) {
			return t
		}
	}
	return "?"
}
