package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// embedConfig is the simulated site's configuration with the sense
// target's embed_origins set to origins (YAML flow list).
func embedConfig(site simSite, origins string) string {
	return fmt.Sprintf(`
server: {listen: %q, public_url: %q}
session: {secret: %q}
log: {format: json}
providers:
  - id: local
    kind: static
    directory: CORP
    static: {users: [{username: alice, password_hash: %q}]}
`, site.addr, site.publicURL, strings.Repeat("k", 40), site.hash) +
		strings.Replace(site.targets(), "    kind: sense-ticket\n", "    kind: sense-ticket\n    embed_origins: "+origins+"\n", 1)
}

// TestServeIssuesMashupTickets: embed_origins in the file reach the
// running server, so the portal's script gets a ticket that the hub takes.
func TestServeIssuesMashupTickets(t *testing.T) {
	const portal = "https://portal.corp.example"
	site := newSimSite(t, "hr", "pw")
	path := filepath.Join(site.dir, "config.yaml")
	if err := os.WriteFile(path, []byte(embedConfig(site, `["`+portal+`"]`)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, "serve", "-config", path)
	r.waitHealthy(t, site.publicURL)
	b := webtest.NewBrowser()
	login := b.MustGet(t, site.sim.HubURL())
	b.MustPostForm(t, site.publicURL+"login", login.MustLoginForm(t, "alice", "pw"))
	req, err := http.NewRequest(http.MethodPost, site.publicURL+"t/sense/ticket", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", portal)
	req.Header.Set("X-Qlikgate-Request", "1")
	p, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(p.Body), &body); err != nil || p.Status != http.StatusOK || body.Ticket == "" ||
		body.ExpiresIn != 60 || p.Header.Get("Access-Control-Allow-Origin") != portal {
		t.Fatalf("ticket from the portal: %d %v %s %v", p.Status, err, p.Body, p.Header)
	}
	if hub := webtest.NewBrowser().MustGet(t, site.sim.HubURL()+"?qlikTicket="+body.Ticket); hub.HubUser() != `CORP\alice` {
		t.Fatalf("hub with the ticket: %d %s", hub.Status, hub.URL)
	}
	r.stop(t)
	logs := r.stderr.String()
	if !strings.Contains(logs, `"event":"ticket_issued"`) || strings.Contains(logs, body.Ticket) {
		t.Errorf("want a ticket_issued event and no ticket in the log:\n%s", logs)
	}
}

func TestServeRefusesBadEmbedOrigin(t *testing.T) {
	site := newSimSite(t, "hr", "pw")
	path := filepath.Join(site.dir, "config.yaml")
	if err := os.WriteFile(path, []byte(embedConfig(site, `["https://portal.corp.example/mashup/"]`)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve", "-config", path}, nil, &stdout, &stderr); code != exitConfig {
		t.Fatalf("exit code %d, want %d\n%s", code, exitConfig, &stderr)
	}
	if !strings.Contains(stderr.String(), "targets[0].embed_origins[0]") || !strings.Contains(stderr.String(), "has a path") {
		t.Errorf("stderr does not name targets[0].embed_origins[0] and the problem:\n%s", &stderr)
	}
}
