package check

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestExplain provokes each failure for real and checks how it is read.
func TestExplain(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	plain := quietServer(t, false, nil)
	tlsSrv := quietServer(t, true, nil)
	needsCert := quietServer(t, true, &tls.Config{ClientAuth: tls.RequireAnyClientCert})
	hangs, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hangs.Close() })

	trusting := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
	tests := []struct {
		name  string
		dial  func(ctx context.Context) error
		cause Cause
		fix   string
	}{
		{"refused", func(ctx context.Context) error { return dialTLS(ctx, closedAddr, &tls.Config{}) }, CauseRefused, "nothing accepts connections on " + closedAddr},
		{"DNS", func(ctx context.Context) error { return dialTLS(ctx, "nonexistent.invalid:443", &tls.Config{}) }, CauseDNS, "the name nonexistent.invalid does not resolve"},
		{"unknown CA", func(ctx context.Context) error { return dialTLS(ctx, hostOf(tlsSrv.URL), &tls.Config{}) }, CauseUnknownCA, "set ca_file to a PEM file"},
		{"wrong name", func(ctx context.Context) error {
			c := trusting.Clone()
			c.ServerName = "qlik.example"
			return dialTLS(ctx, hostOf(tlsSrv.URL), c)
		}, CauseNameMismatch, `does not name "qlik.example" (it is valid for example.com, *.example.com, 127.0.0.1, ::1)`},
		{"not TLS", func(ctx context.Context) error { return dialTLS(ctx, hostOf(plain.URL), &tls.Config{}) }, CauseNotTLS, "does not speak TLS on port"},
		{"client certificate refused", func(ctx context.Context) error {
			c := needsCert.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			conn, err := tls.Dial("tcp", hostOf(needsCert.URL), c)
			if err != nil {
				return err
			}
			defer conn.Close()
			_, err = conn.Read(make([]byte, 1)) // TLS 1.3: the refusal arrives after the handshake
			return err
		}, CauseAlert, "refused the TLS handshake (tls: certificate required)"},
		{"timeout", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			return dialTLS(ctx, hangs.Addr().String(), &tls.Config{})
		}, CauseTimeout, "did not answer in time: a firewall probably drops traffic to port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.dial(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			p := Peer{What: "the server", Addr: "somewhere:636", CAKey: "ca_file"}
			if tt.cause == CauseRefused || tt.cause == CauseDNS {
				p.Addr = map[Cause]string{CauseRefused: closedAddr, CauseDNS: "nonexistent.invalid:443"}[tt.cause]
			}
			cause, fix := p.Explain(err)
			if cause != tt.cause || !strings.Contains(fix, tt.fix) {
				t.Fatalf("Explain(%v) = %d, %q; want %d, fix ∋ %q", err, cause, fix, tt.cause, tt.fix)
			}
		})
	}
	if c, fix := (Peer{}).Explain(errors.New("something else")); c != CauseOther || fix != "" {
		t.Errorf("other error: %d %q", c, fix)
	}
}

// quietServer starts an httptest server whose handshake errors, provoked
// on purpose, stay out of the test output.
func quietServer(t *testing.T, useTLS bool, conf *tls.Config) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.NotFoundHandler())
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		s.TLS = conf
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func dialTLS(ctx context.Context, addr string, c *tls.Config) error {
	d := tls.Dialer{Config: c}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		conn.Close()
	}
	return err
}

func hostOf(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://") }
