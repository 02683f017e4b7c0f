package qliksim

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

const simpleTicket = `{"UserDirectory":"CORP","UserId":"jdoe"}`

func TestQPSRejectsBadClientCertificates(t *testing.T) {
	logs := &logRecorder{t: t}
	s, _ := newSenseOpts(t, SenseOptions{Prefix: "hr", ModuleURL: testModule, Logf: logs.Logf})
	pair := func(certPEM, keyPEM []byte, err error) []tls.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	foreign := pair(s.PKI().ForeignClient())
	tests := []struct {
		name    string
		certs   []tls.Certificate
		force   bool   // present the certificate even if the server's CA list does not name its issuer
		wantLog string // the server's reason
	}{
		{"no client certificate", nil, false, "didn't provide a certificate"},
		// crypto/tls withholds a certificate whose issuer the server did
		// not ask for, so this one arrives as "no certificate"...
		{"foreign CA, offered", foreign, false, "didn't provide a certificate"},
		// ...and this one reaches the server's chain verification.
		{"foreign CA, forced", foreign, true, "unknown authority"},
		{"expired", pair(s.PKI().ExpiredClient()), true, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Stats()
			cfg := s.PKI().ClientTLSConfig("")
			cfg.Certificates = tt.certs
			if tt.force {
				cfg.Certificates = nil
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					return &tt.certs[0], nil
				}
			}
			c := clientWith(t, cfg)
			req, err := http.NewRequest(http.MethodPost, s.ProxyRestURI()+"ticket?xrfkey="+testKey, strings.NewReader(simpleTicket))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Qlik-Xrfkey", testKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("request succeeded with status %d, want a TLS failure", resp.StatusCode)
			}
			if !logs.waitFor("TLS handshake error", tt.wantLog) {
				t.Errorf("no handshake error mentioning %q logged", tt.wantLog)
			}
			after := s.Stats()
			if after.TLSHandshakes != before.TLSHandshakes || after.QPSRequests != before.QPSRequests || after.TicketsIssued != 0 {
				t.Errorf("stats moved on a failed handshake: %+v -> %+v", before, after)
			}
		})
	}

	// Control: the site's own client certificate works.
	issueTicket(t, s, qpsClient(t, s), simpleTicket)
}

func TestServerNamesQuirk(t *testing.T) {
	s, _ := newSenseOpts(t, SenseOptions{Prefix: "hr", ModuleURL: testModule, ServerNames: []string{"qlikserver1"}})
	if !strings.HasPrefix(s.ProxyRestURI(), "https://127.0.0.1:") {
		t.Fatalf("ProxyRestURI %q, want the loopback address", s.ProxyRestURI())
	}

	// Without the expected name, crypto/tls checks 127.0.0.1, which the
	// certificate does not hold.
	c := clientWith(t, s.PKI().ClientTLSConfig(""))
	_, err := c.Post(s.ProxyRestURI()+"ticket?xrfkey="+testKey, "application/json", strings.NewReader(simpleTicket))
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) || hostErr.Host != "127.0.0.1" {
		t.Fatalf("connecting to 127.0.0.1 without ServerName: error %v, want a hostname mismatch", err)
	}

	tr := issueTicket(t, s, clientWith(t, s.PKI().ClientTLSConfig("qlikserver1")), simpleTicket)
	if !ticketRE.MatchString(tr.Ticket) {
		t.Errorf("ticket %q", tr.Ticket)
	}
}

func TestHandshakesCountConnections(t *testing.T) {
	for _, k := range pkiKinds {
		t.Run(k.name, func(t *testing.T) {
			p, err := k.new()
			if err != nil {
				t.Fatal(err)
			}
			s, _ := newSenseOpts(t, SenseOptions{Prefix: "hr", ModuleURL: testModule, PKI: p})
			c := qpsClient(t, s)
			for range 10 {
				issueTicket(t, s, c, simpleTicket)
			}
			st := s.Stats()
			if st.TLSHandshakes != 1 || st.QPSRequests != 10 || st.TicketsIssued != 10 {
				t.Errorf("after 10 requests on one keep-alive client: %+v, want 1 handshake, 10 requests", st)
			}

			// A second client must not resume the first one's session
			// cheaply: each connection is a full, counted handshake.
			issueTicket(t, s, qpsClient(t, s), simpleTicket)
			if got := s.Stats().TLSHandshakes; got != 2 {
				t.Errorf("TLSHandshakes = %d after a second client, want 2", got)
			}

			// Disabling keep-alive costs a handshake per request.
			noKeepAlive := qpsClient(t, s)
			noKeepAlive.Transport.(*http.Transport).DisableKeepAlives = true
			for range 3 {
				issueTicket(t, s, noKeepAlive, simpleTicket)
			}
			if got := s.Stats().TLSHandshakes; got != 5 {
				t.Errorf("TLSHandshakes = %d after 3 requests without keep-alive, want 5", got)
			}
		})
	}
}

func TestHubTLS(t *testing.T) {
	s, _ := newSenseOpts(t, SenseOptions{Prefix: "hr", ModuleURL: testModule, HubTLS: true})
	if !strings.HasPrefix(s.HubURL(), "https://127.0.0.1:") {
		t.Fatalf("HubURL %q, want https", s.HubURL())
	}
	// The hub needs no client certificate, only trust in the site CA.
	moduleRedirect(t, s, browser(t, s), s.HubURL())

	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.CloseIdleConnections()
	_, err := plain.Get(s.HubURL())
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("hub without the site CA: error %v, want unknown authority", err)
	}
}

func TestCloseStopsListeners(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := NewSense(SenseOptions{ModuleURL: testModule})
	if err != nil {
		t.Fatal(err)
	}
	hub := strings.TrimPrefix(strings.TrimSuffix(s.HubURL(), "/hub/"), "http://")
	qpsAddr := strings.TrimPrefix(strings.TrimSuffix(s.ProxyRestURI(), "/qps/"), "https://")
	c := qpsClient(t, s)
	issueTicket(t, s, c, simpleTicket) // leaves an idle keep-alive connection open
	s.Close()
	s.Close() // idempotent
	for _, addr := range []string{hub, qpsAddr} {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
	if _, err := c.Post(s.ProxyRestURI()+"ticket", "application/json", strings.NewReader("{}")); err == nil {
		t.Error("request on a kept-alive connection succeeded after Close")
	}
	c.Transport.(*http.Transport).CloseIdleConnections()

	// Every server goroutine ends soon after Close.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
