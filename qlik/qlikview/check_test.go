package qlikview

import (
	"context"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// TestDiagnose proves trust the only way QlikView tells it (a ticket for a
// probe user), against the simulator's TrustedIP and NTLM rules.
func TestDiagnose(t *testing.T) {
	right := &NTLMConfig{Username: "svc-qlikgate", Password: "Corr3ct-horse", Domain: "CORP"}
	wrong := &NTLMConfig{Username: "svc-qlikgate", Password: "nope", Domain: "CORP"}
	tests := []struct {
		name     string
		opts     qliksim.QlikViewOptions
		mod      func(*Config)
		down     bool
		ok       bool
		inDetail string
		inFix    string
	}{
		{name: "trusted address", ok: true, inDetail: `QlikView trusts this module (from 127.0.0.1): it issued a web ticket for the probe user "qlikgate-check"`},
		{name: "untrusted address", opts: qliksim.QlikViewOptions{TrustedIPs: []string{"10.9.9.9"}},
			inDetail: "Invalid call", inFix: `add <TrustedIP>127.0.0.1</TrustedIP>`},
		{name: "NTLM account", opts: qliksim.QlikViewOptions{Credentials: simCreds}, mod: func(c *Config) { c.NTLM = right },
			ok: true, inDetail: `(as CORP\svc-qlikgate)`},
		{name: "NTLM with a wrong password", opts: qliksim.QlikViewOptions{Credentials: simCreds}, mod: func(c *Config) { c.NTLM = wrong },
			inDetail: "HTTP 401", inFix: `Windows login as CORP\svc-qlikgate failed`},
		{name: "web server down", down: true, inDetail: "connection refused", inFix: "nothing accepts connections on 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, tt.opts)
			tg := newTarget(t, sim, tt.mod)
			if tt.down {
				sim.Close()
			}
			rs := tg.Diagnose(context.Background())
			r := find(t, rs, "GetWebTicket ")
			if r.OK != tt.ok || !strings.Contains(r.Detail, tt.inDetail) || !strings.Contains(r.Fix, tt.inFix) {
				t.Errorf("got %+v\nwant OK=%v, detail ∋ %q, fix ∋ %q", r, tt.ok, tt.inDetail, tt.inFix)
			}
			if a := find(t, rs, "authenticate_url "); a.OK != true || a.Warn != tt.down {
				t.Errorf("authenticate_url: %+v", a)
			}
			if tt.ok && sim.Stats().TicketsIssued != 1 {
				t.Errorf("%d tickets issued, want the probe's one", sim.Stats().TicketsIssued)
			}
		})
	}
}

func find(t *testing.T, rs []check.Result, prefix string) check.Result {
	t.Helper()
	for _, r := range rs {
		if strings.HasPrefix(r.Name, prefix) {
			return r
		}
	}
	t.Fatalf("no result %q in %+v", prefix, rs)
	return check.Result{}
}
