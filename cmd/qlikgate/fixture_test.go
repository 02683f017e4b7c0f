package main

import (
	"fmt"
	"testing"

	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// simSite is what tests of the commands run qlikgate against: a simulated
// Sense site whose certificates sit in dir (next to the configuration the
// test writes), a free address for qlikgate, and a cheap hash of a password.
type simSite struct {
	sim       *qliksim.Sense
	dir       string
	addr      string // for server.listen
	publicURL string
	hash      string // argon2id hash of the password given to newSimSite
}

func newSimSite(t *testing.T, prefix, password string) simSite {
	t.Helper()
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: prefix, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	s := simSite{sim: sim, dir: t.TempDir(), addr: freePort(t)}
	if _, err := sim.PKI().WriteFiles(s.dir); err != nil {
		t.Fatal(err)
	}
	if s.hash, err = static.HashPassword(password, static.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}); err != nil {
		t.Fatal(err)
	}
	s.publicURL = "http://" + s.addr + "/"
	sim.SetModuleURL(s.publicURL)
	return s
}

// targets is the configuration's targets block for the site.
func (s simSite) targets() string {
	return fmt.Sprintf(`targets:
  - id: sense
    kind: sense-ticket
    sense: {proxy_rest_uri: %q, client_cert_file: client.pem, client_key_file: client_key.pem, root_ca_file: root.pem, hub_url: %q}
`, s.sim.ProxyRestURI(), s.sim.HubURL())
}
