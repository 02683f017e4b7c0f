package sense

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

var alice = qlik.User{Directory: "CORP", UserID: "alice", Groups: []string{"Sales", "EU"}}

// simTarget starts a simulated Sense site and a ticket target wired to it.
func simTarget(t *testing.T, opts qliksim.SenseOptions, mod func(*Config, qliksim.Files)) (*qliksim.Sense, *TicketTarget) {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	sim, err := qliksim.NewSense(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	files, err := sim.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ProxyRestURI = sim.ProxyRestURI()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	cfg.HubURL = sim.HubURL()
	if mod != nil {
		mod(cfg, files)
	}
	tgt, err := OpenTicket(context.Background(), qlik.Common{ID: "sense"}, cfg, qlik.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("OpenTicket: %v", err)
	}
	return sim, tgt
}

// login runs Login and follows the redirect at the hub like a browser.
func login(t *testing.T, sim *qliksim.Sense, tgt *TicketTarget) webtest.Page {
	t.Helper()
	h, err := tgt.Login(context.Background(), alice, qlik.Entry{})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !strings.HasPrefix(h.Redirect, sim.HubURL()+"?qlikTicket=") {
		t.Fatalf("redirect %q is not the hub with a ticket", h.Redirect)
	}
	return webtest.NewBrowser().MustGet(t, h.Redirect)
}

func TestLoginCertificateFormats(t *testing.T) {
	tests := []struct {
		name string
		pki  func() (*qliksim.PKI, error)
		mod  func(*Config, qliksim.Files)
	}{
		{"PEM set, ECDSA", func() (*qliksim.PKI, error) { return qliksim.NewPKI(nil) }, nil},
		{"PEM set, RSA PKCS#1 key as the QMC exports it", func() (*qliksim.PKI, error) { return qliksim.NewPKIRSA(nil) }, nil},
		{"PFX with password", func() (*qliksim.PKI, error) { return qliksim.NewPKIRSA(nil) }, func(c *Config, f qliksim.Files) {
			c.ClientCertFile, c.ClientKeyFile = "", ""
			c.PFXFile, c.PFXPassword = f.PFX, f.PFXPassword
		}},
		{"DER root (root.cer)", func() (*qliksim.PKI, error) { return qliksim.NewPKI(nil) }, func(c *Config, f qliksim.Files) {
			b, _ := pem.Decode(mustRead(t, f.Root))
			c.RootCAFile = filepath.Join(t.TempDir(), "root.cer")
			if err := os.WriteFile(c.RootCAFile, b.Bytes, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pki, err := tt.pki()
			if err != nil {
				t.Fatal(err)
			}
			sim, tgt := simTarget(t, qliksim.SenseOptions{PKI: pki}, tt.mod)
			if p := login(t, sim, tgt); p.HubUser() != `CORP\alice` || !strings.Contains(p.Body, "Group=EU") {
				t.Fatalf("hub after login: %d\n%s", p.Status, p.Body)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenErrorsNameTheKey(t *testing.T) {
	pki, err := qliksim.NewPKI(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := pki.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := qliksim.NewPKI(nil)
	otherFiles, err := other.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"missing files", func(c *Config) {
			c.ClientCertFile, c.ClientKeyFile, c.RootCAFile = "/nope/client.pem", "/nope/client_key.pem", "/nope/root.pem"
		}, []string{"client_cert_file: open /nope/client.pem: no such file", "client_key_file: open /nope/client_key.pem", "root_ca_file: open /nope/root.pem"}},
		{"key of another certificate", func(c *Config) { c.ClientKeyFile = otherFiles.ClientKey }, []string{"client_key_file: ", "private key does not match public key"}},
		{"root without a certificate", func(c *Config) { c.RootCAFile = notPEM }, []string{"root_ca_file: ", "no certificate found"}},
		{"wrong PFX password", func(c *Config) {
			c.ClientCertFile, c.ClientKeyFile, c.PFXFile, c.PFXPassword = "", "", files.PFX, "wrong"
		}, []string{"pfx_password: wrong password"}},
		{"PFX not a PFX", func(c *Config) { c.ClientCertFile, c.ClientKeyFile, c.PFXFile = "", "", notPEM }, []string{"pfx_file: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
			tt.mod(cfg)
			_, err := OpenTicket(context.Background(), qlik.Common{ID: "s"}, cfg, qlik.Env{Log: slog.New(slog.DiscardHandler)})
			if err == nil {
				t.Fatal("OpenTicket accepted bad files")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestServerCertificateVerified(t *testing.T) {
	t.Run("short host name needs server_name", func(t *testing.T) {
		pki, err := qliksim.NewPKI([]string{"qlikserver1"})
		if err != nil {
			t.Fatal(err)
		}
		_, tgt := simTarget(t, qliksim.SenseOptions{PKI: pki}, nil)
		_, err = tgt.Login(context.Background(), alice, qlik.Entry{})
		var hostErr x509.HostnameError
		if !errors.As(err, &hostErr) {
			t.Fatalf("Login to a certificate for another name: %v, want a host name error", err)
		}
		sim, tgt := simTarget(t, qliksim.SenseOptions{PKI: pki}, func(c *Config, _ qliksim.Files) { c.ServerName = "qlikserver1" })
		if p := login(t, sim, tgt); p.HubUser() != `CORP\alice` {
			t.Fatalf("server_name did not make the short-name certificate acceptable: %s", p.Body)
		}
	})
	t.Run("root of another site", func(t *testing.T) {
		other, err := qliksim.NewPKI(nil)
		if err != nil {
			t.Fatal(err)
		}
		otherFiles, err := other.WriteFiles(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		sim, tgt := simTarget(t, qliksim.SenseOptions{}, func(c *Config, _ qliksim.Files) { c.RootCAFile = otherFiles.Root })
		_, err = tgt.Login(context.Background(), alice, qlik.Entry{})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("Login trusting another root: %v, want an unknown authority error", err)
		}
		if sim.Stats().TicketsIssued != 0 {
			t.Fatal("a ticket was issued over an unverified connection")
		}
	})
	t.Run("client certificate of another site", func(t *testing.T) {
		other, _ := qliksim.NewPKI(nil)
		otherFiles, err := other.WriteFiles(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		sim, tgt := simTarget(t, qliksim.SenseOptions{}, func(c *Config, _ qliksim.Files) {
			c.ClientCertFile, c.ClientKeyFile = otherFiles.ClientCert, otherFiles.ClientKey
		})
		if _, err := tgt.Login(context.Background(), alice, qlik.Entry{}); err == nil {
			t.Fatal("the QPS accepted a client certificate from another CA")
		}
		if sim.Stats().TicketsIssued != 0 {
			t.Fatal("a ticket was issued to a foreign client certificate")
		}
	})
}

func TestConnectionsReused(t *testing.T) {
	sim, tgt := simTarget(t, qliksim.SenseOptions{}, nil)
	for range 20 {
		if _, err := tgt.Login(context.Background(), alice, qlik.Entry{}); err != nil {
			t.Fatal(err)
		}
	}
	st := sim.Stats()
	if st.TicketsIssued != 20 || st.TLSHandshakes != 1 {
		t.Fatalf("20 sequential tickets: %+v, want 20 tickets over 1 TLS handshake", st)
	}
}

func TestMismatchedXrfkeyRefused(t *testing.T) {
	// Drive the target's own mutual-TLS client by hand with keys that
	// differ: the QPS must refuse, and do() must surface it as a 403.
	sim, tgt := simTarget(t, qliksim.SenseOptions{}, nil)
	u := sim.ProxyRestURI() + "ticket?xrfkey=abcdefghijklmnop"
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"UserDirectory":"CORP","UserId":"alice"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Qlik-Xrfkey", "ABCDEFGHIJKLMNOP")
	resp, err := tgt.qps.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("mismatched xrfkey: %d, want 403", resp.StatusCode)
	}
	err = tgt.qps.do(context.Background(), http.MethodPost, sim.ProxyRestURI(), "ticket", map[string]any{"UserDirectory": "CORP", "UserId": `a\b`}, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.Body == "" {
		t.Fatalf("a refused ticket: %v, want a StatusError 400 with Qlik's reason", err)
	}
	if sim.Stats().TicketsIssued != 0 {
		t.Fatal("tickets issued")
	}
}

func TestLoginWithTargetID(t *testing.T) {
	sim, tgt := simTarget(t, qliksim.SenseOptions{Prefix: "hr"}, nil)
	// Let the hub send a browser to a module URL we capture.
	sim.SetModuleURL("http://module.invalid/")
	p := webtest.NewBrowser().NoFollow().MustGet(t, sim.HubURL()+"sheet/1?a=b")
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil || p.Status != http.StatusFound {
		t.Fatalf("hub: %d %q", p.Status, p.Header.Get("Location"))
	}
	e, err := tgt.ParseEntry(loc.Query())
	if err != nil {
		t.Fatal(err)
	}
	h, err := tgt.Login(context.Background(), alice, e)
	if err != nil {
		t.Fatal(err)
	}
	want := sim.HubURL() + "sheet/1?a=b&qlikTicket="
	if !strings.HasPrefix(h.Redirect, want) {
		t.Fatalf("redirect %q, want the TargetUri %s…", h.Redirect, want)
	}
}

func TestLoginRefusals(t *testing.T) {
	sim, tgt := simTarget(t, qliksim.SenseOptions{}, nil)
	tests := []struct {
		name string
		ctx  func() context.Context
		user qlik.User
	}{
		{"backslash in UserId", context.Background, qlik.User{Directory: "CORP", UserID: `CORP\alice`}},
		{"blank directory", context.Background, qlik.User{Directory: " ", UserID: "alice"}},
		{"cancelled request", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, alice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tgt.Login(tt.ctx(), tt.user, qlik.Entry{}); err == nil {
				t.Fatal("Login succeeded")
			}
		})
	}
	if n := sim.Stats().TicketsIssued; n != 0 {
		t.Fatalf("%d tickets issued", n)
	}
	sim.Close()
	if _, err := tgt.Login(context.Background(), alice, qlik.Entry{}); err == nil || !strings.Contains(err.Error(), "qps: POST") {
		t.Fatalf("Login with the QPS down: %v", err)
	}
}

func TestLogoutEndsProxySessions(t *testing.T) {
	sim, tgt := simTarget(t, qliksim.SenseOptions{}, nil)
	b := webtest.NewBrowser()
	h, err := tgt.Login(context.Background(), alice, qlik.Entry{})
	if err != nil {
		t.Fatal(err)
	}
	if p := b.MustGet(t, h.Redirect); p.HubUser() != `CORP\alice` {
		t.Fatalf("hub: %s", p.Body)
	}
	sim.SetModuleURL("http://module.invalid/")
	if p := b.NoFollow().MustGet(t, sim.HubURL()); p.Status != http.StatusOK {
		t.Fatalf("hub with a session: %d", p.Status)
	}
	if _, err := tgt.Logout(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	if p := b.NoFollow().MustGet(t, sim.HubURL()); p.Status != http.StatusFound {
		t.Fatalf("hub after logout: %d, want a redirect to the module", p.Status)
	}
}

func TestLooseKeyFileWarns(t *testing.T) {
	var logs strings.Builder
	cfg := validConfig()
	dir := t.TempDir()
	pki, _ := qliksim.NewPKI(nil)
	files, err := pki.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	for _, mode := range []os.FileMode{0o600, 0o640} {
		logs.Reset()
		if err := os.Chmod(files.ClientKey, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenTicket(context.Background(), qlik.Common{ID: "s"}, cfg, qlik.Env{Log: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(logs.String(), "can be read by other users")
		if warned != (mode != 0o600) {
			t.Errorf("mode %v: warned %v\n%s", mode, warned, logs.String())
		}
	}
}
