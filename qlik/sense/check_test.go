package sense

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// want is an expected check result: the first result whose name starts
// with prefix and whose outcome is ok must mention inDetail and inFix.
type want struct {
	prefix          string
	ok              bool
	inDetail, inFix string
}

func (w want) find(t *testing.T, rs []check.Result) {
	t.Helper()
	for _, r := range rs {
		if strings.HasPrefix(r.Name, w.prefix) && r.OK == w.ok && strings.Contains(r.Detail, w.inDetail) && strings.Contains(r.Fix, w.inFix) {
			return
		}
	}
	t.Errorf("no result %q with OK=%v, detail ∋ %q, fix ∋ %q in:\n%s", w.prefix, w.ok, w.inDetail, w.inFix, dump(rs))
}

func dump(rs []check.Result) string {
	var b strings.Builder
	for _, r := range rs {
		mark := "ok  "
		if !r.OK {
			mark = "FAIL"
		} else if r.Warn {
			mark = "WARN"
		}
		b.WriteString("  " + mark + " " + r.Name + ": " + r.Detail + " | fix: " + r.Fix + "\n")
	}
	return b.String()
}

// diagnoseSim starts a simulated site, opens a ticket target for it after
// mod changed its configuration or files, and diagnoses it.
func diagnoseSim(t *testing.T, opts qliksim.SenseOptions, mod func(*testing.T, *Config, qliksim.Files, *qliksim.PKI)) []check.Result {
	t.Helper()
	if opts.PKI == nil { // mod needs the site's PKI before the target opens
		pki, err := qliksim.NewPKI(opts.ServerNames)
		if err != nil {
			t.Fatal(err)
		}
		opts.PKI = pki
	}
	_, tgt := simTarget(t, opts, func(c *Config, f qliksim.Files) {
		c.Timeout = 5 * time.Second
		if mod != nil {
			mod(t, c, f, opts.PKI)
		}
	})
	t.Cleanup(tgt.qps.http.CloseIdleConnections)
	return tgt.Diagnose(context.Background())
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDiagnose runs the checks against the QPS simulator, breaking one
// thing per case.
func TestDiagnose(t *testing.T) {
	dead, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr"})
	if err != nil {
		t.Fatal(err)
	}
	deadURI := dead.ProxyRestURI()
	dead.Close()
	other, err := qliksim.NewPKI(nil)
	if err != nil {
		t.Fatal(err)
	}
	shortName := qliksim.SenseOptions{ServerNames: []string{"qlikserver1"}}
	tests := []struct {
		name string
		opts qliksim.SenseOptions
		mod  func(*testing.T, *Config, qliksim.Files, *qliksim.PKI)
		want []want
	}{
		{name: "all good", want: []want{
			{"client_cert_file", true, "valid until", ""},
			{"client_key_file", true, "the private key matches", ""},
			{"client_cert_file", true, `is issued by "CN=qliksim-CA,O=qliksim"`, ""},
			{"root_ca_file", true, "valid until", ""},
			{"QPS https://", true, "reachable with the client certificate", ""},
		}},
		{name: "expired client certificate", mod: func(t *testing.T, c *Config, f qliksim.Files, p *qliksim.PKI) {
			cert, key, err := p.ExpiredClient()
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, f.ClientCert, cert)
			writeFile(t, f.ClientKey, key)
		}, want: []want{
			{"client_cert_file", false, "expired on", "export the certificates again"},
			{"client_cert_file", true, "is issued by", ""}, // one failure per problem
			{"QPS https://", false, "tls: expired certificate", "the QPS says the client certificate has expired"},
		}},
		{name: "root of another site", mod: func(t *testing.T, c *Config, f qliksim.Files, _ *qliksim.PKI) {
			writeFile(t, f.Root, other.RootPEM())
		}, want: []want{
			{"client_cert_file", false, "is not issued by the configured CA", "different exports"},
			{"QPS https://", false, "certificate signed by unknown authority", "not issued by the CA in root_ca_file"},
		}},
		{name: "client certificate of another site", mod: func(t *testing.T, c *Config, f qliksim.Files, p *qliksim.PKI) {
			cert, key, err := p.ForeignClient()
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, f.ClientCert, cert)
			writeFile(t, f.ClientKey, key)
		}, want: []want{
			{"client_cert_file", false, "is not issued by the configured CA", ""},
			{"QPS https://", false, "", "accepts only the client certificate of its own site"},
		}},
		{name: "certificate for the short host name", opts: shortName, want: []want{
			{"QPS https://", false, "x509: cannot validate certificate for 127.0.0.1", "the QPS certificate is valid for qlikserver1, not 127.0.0.1: set server_name: qlikserver1"},
		}},
		{name: "server_name set", opts: shortName, mod: func(_ *testing.T, c *Config, _ qliksim.Files, _ *qliksim.PKI) {
			c.ServerName = "qlikserver1"
		}, want: []want{
			{"QPS https://", true, `as "qlikserver1" (server_name)`, ""},
		}},
		{name: "wrong server_name", opts: shortName, mod: func(_ *testing.T, c *Config, _ qliksim.Files, _ *qliksim.PKI) {
			c.ServerName = "qlikserver2"
		}, want: []want{
			{"QPS https://", false, "", `server_name "qlikserver2" is not in the QPS certificate`},
		}},
		{name: "one allowed QPS is down", mod: func(_ *testing.T, c *Config, _ qliksim.Files, _ *qliksim.PKI) {
			c.AllowedProxyRestURIs = []string{deadURI}
		}, want: []want{
			{"QPS " + deadURI, false, "connection refused", "nothing accepts connections on"},
			{"QPS https://", true, "reachable", ""},
		}},
		{name: "one of the nodes is down", mod: func(_ *testing.T, c *Config, _ qliksim.Files, _ *qliksim.PKI) {
			c.ProxyRestURI, c.Nodes = "", []string{c.ProxyRestURI, deadURI}
		}, want: []want{
			{"QPS " + deadURI, false, "connection refused", "nothing accepts connections on"},
			{"QPS https://", true, "reachable", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Prefix = "hr"
			rs := diagnoseSim(t, opts, tt.mod)
			for _, w := range tt.want {
				w.find(t, rs)
			}
		})
	}
}

// TestQPSFixForHTTPAnswers covers the answers the simulator has no reason
// to give: the QPS's own refusals.
func TestQPSFixForHTTPAnswers(t *testing.T) {
	tests := []struct {
		err   *StatusError
		inFix string
	}{
		{&StatusError{Status: 403, Body: xsrfBody}, "X-Qlik-Xrfkey header"},
		{&StatusError{Status: 403, Body: "Forbidden"}, "refused the client certificate (HTTP 403)"},
		{&StatusError{Status: 404, Body: "Not Found"}, "check the virtual proxy prefix"},
		{&StatusError{Status: 500, Body: "oops"}, "see the Proxy log"},
	}
	s := &site{}
	for _, tt := range tests {
		if fix := s.qpsFix("https://qps:4243/qps/hr/", fmt.Errorf("qps: %w", tt.err)); !strings.Contains(fix, tt.inFix) {
			t.Errorf("HTTP %d %q: fix %q lacks %q", tt.err.Status, tt.err.Body, fix, tt.inFix)
		}
	}
}

const xsrfBody = "XSRF prevention check failed. Possible XSRF discovered."
