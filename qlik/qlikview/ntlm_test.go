package qlikview

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

var simCreds = &qliksim.NTLMCredentials{Domain: "CORP", Username: "svc-qlikgate", Password: "Corr3ct-horse"}

func TestNTLM(t *testing.T) {
	tests := []struct {
		name string
		ntlm *NTLMConfig
		err  string // "" for success
	}{
		{name: "right account", ntlm: &NTLMConfig{Username: "svc-qlikgate", Password: "Corr3ct-horse", Domain: "CORP"}},
		{name: `DOMAIN\user form`, ntlm: &NTLMConfig{Username: `corp\svc-qlikgate`, Password: "Corr3ct-horse"}},
		{name: "wrong password", ntlm: &NTLMConfig{Username: "svc-qlikgate", Password: "corr3ct-horse", Domain: "CORP"},
			err: `HTTP 401: 401 - Unauthorized: Access is denied due to invalid credentials. (Windows login as CORP\svc-qlikgate failed`},
		{name: "wrong user", ntlm: &NTLMConfig{Username: "administrator", Password: "Corr3ct-horse", Domain: "CORP"}, err: "HTTP 401"},
		{name: "wrong domain", ntlm: &NTLMConfig{Username: "svc-qlikgate", Password: "Corr3ct-horse", Domain: "OTHER"}, err: "HTTP 401"},
		{name: "no ntlm configured", err: "configure ntlm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, qliksim.QlikViewOptions{Credentials: simCreds})
			tg := newTarget(t, sim, func(c *Config) { c.NTLM = tt.ntlm })
			h, err := tg.Login(context.Background(), testUser, qlik.Entry{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %+v, %v; want error %q", h, err, tt.err)
				}
				if strings.Contains(err.Error(), "orr3ct-horse") {
					t.Fatalf("error %q shows the password", err)
				}
				if sim.Stats().TicketsIssued != 0 {
					t.Fatal("a ticket was issued")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p := get(t, browser(t, false, nil), h.Redirect); !strings.Contains(p.body, `<h1 id="user">CORP\jdoe</h1>`) {
				t.Fatalf("AccessPoint page:\n%s", p.body)
			}
		})
	}
}

// TestNTLMConcurrentLogins: NTLM authenticates a connection, so parallel
// logins must not interleave their handshakes. They share one connection,
// authenticated once.
func TestNTLMConcurrentLogins(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{Credentials: simCreds})
	tg := newTarget(t, sim, func(c *Config) {
		c.NTLM = &NTLMConfig{Username: "svc-qlikgate", Password: "Corr3ct-horse", Domain: "CORP"}
	})
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if _, err := tg.Login(context.Background(), testUser, qlik.Entry{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := sim.Stats(); st.TicketsIssued != n || st.NTLMLogins != 1 || st.NTLMFailures != 0 {
		t.Fatalf("stats %+v, want %d tickets over one NTLM login", st, n)
	}
}

// TestNTLMNotUsedWhenTrusted: with the module's address trusted, the
// password never leaves the module, not even as an NTLM response.
func TestNTLMNotUsedWhenTrusted(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}, Credentials: simCreds})
	tg := newTarget(t, sim, func(c *Config) {
		c.NTLM = &NTLMConfig{Username: "svc-qlikgate", Password: "Corr3ct-horse", Domain: "CORP"}
	})
	login(t, tg, testUser, qlik.Entry{})
	if st := sim.Stats(); st.TicketsIssued != 1 || st.NTLMLogins != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTLS(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{TLS: true})
	caFile := writeFile(t, "root.pem", string(sim.PKI().RootPEM()))

	t.Run("ca_file trusts the private CA", func(t *testing.T) {
		tg := newTarget(t, sim, func(c *Config) { c.CAFile = caFile })
		tr := &http.Transport{TLSClientConfig: sim.PKI().ClientTLSConfig("")}
		tr.TLSClientConfig.Certificates = nil
		p := get(t, browser(t, false, tr), login(t, tg, testUser, qlik.Entry{}))
		if !strings.Contains(p.body, `<h1 id="user">CORP\jdoe</h1>`) {
			t.Fatalf("AccessPoint page %d:\n%s", p.status, p.body)
		}
	})
	t.Run("without ca_file the certificate is refused", func(t *testing.T) {
		tg := newTarget(t, sim, nil)
		_, err := tg.Login(context.Background(), testUser, qlik.Entry{})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v, want a certificate error", err)
		}
	})
}
