package sense_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/sense"
)

// benchTicketTarget is a sense-ticket target opened against a running
// qliksim, as `qlikgate serve` opens it. Tickets live one second: qliksim
// keeps issued tickets until they expire and sweeps them on every request,
// so the default minute would let the benchmark measure the simulator's
// sweep (tens of thousands of tickets) instead of qlikgate.
func benchTicketTarget(b *testing.B) (*qliksim.Sense, *sense.TicketTarget) {
	b.Helper()
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr", TicketTTL: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	files, err := sim.PKI().WriteFiles(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	cfg := sense.DefaultConfig()
	cfg.ProxyRestURI, cfg.HubURL = sim.ProxyRestURI(), sim.HubURL()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	tgt, err := sense.OpenTicket(context.Background(), qlik.Common{ID: "sense"}, cfg, qlik.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return sim, tgt
}

// benchUser is a typical directory user: a few groups, one attribute.
var benchUser = qlik.User{
	Directory: "CORP", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
	Groups:     []string{"Sales", "EU", "Analysts"},
	Attributes: map[string][]string{"Department": {"D-42"}},
}
