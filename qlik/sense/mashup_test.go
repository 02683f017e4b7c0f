package sense

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// TestIssueTicketFailsOver: a mashup ticket has no proxyRestUri to follow,
// so it comes from the first healthy node; with node 1 down, node 2 issues
// it, and only node 2 knows it.
func TestIssueTicketFailsOver(t *testing.T) {
	site, err := qliksim.NewSite(qliksim.SiteOptions{Nodes: 2, Prefix: "hr", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.Close)
	files, err := site.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Nodes = site.ProxyRestURIs()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	cfg.HubURL = site.HubURL()
	tgt, err := OpenTicket(context.Background(), qlik.Common{ID: "sense"}, cfg, qlik.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		stop     bool
		wantNode int
	}{
		{"both up: the first node", false, 0},
		{"node 1 down: the second", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stop {
				site.StopNode(0)
			}
			before := [2]int64{site.Node(0).Stats().TicketsIssued, site.Node(1).Stats().TicketsIssued}
			tk, err := tgt.IssueTicket(context.Background(), alice)
			if err != nil {
				t.Fatalf("IssueTicket: %v", err)
			}
			if tk.Value == "" || tk.ExpiresIn != time.Minute {
				t.Fatalf("ticket %+v, want a value valid for a minute", tk)
			}
			for i := range 2 {
				want := before[i]
				if i == tc.wantNode {
					want++
				}
				if got := site.Node(i).Stats().TicketsIssued; got != want {
					t.Errorf("node %d issued %d tickets, want %d", i+1, got-before[i], want-before[i])
				}
			}
		})
	}
	if _, err := tgt.IssueTicket(context.Background(), qlik.User{Directory: "CORP", UserID: `a\b`}); err == nil {
		t.Error("IssueTicket accepted a UserId with a backslash")
	}
}
