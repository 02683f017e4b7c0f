package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// checkEnv is every real peer `qlikgate check` talks to, started once for
// all cases: slapd (when installed), an OpenID provider, the Sense,
// QlikView and Qlik Cloud simulators, plus the files a configuration
// names.
type checkEnv struct {
	dir      string
	slapd    *ldaptest.Slapd // nil when slapdErr is set
	slapdErr error
	op       *oidctest.OP
	downOP   string // issuer of an OP that has stopped
	sense    *qliksim.Sense
	files    qliksim.Files
	qv       *qliksim.QlikView
	qvWary   *qliksim.QlikView // trusts another address only
	cloud    *qliksim.Cloud
	hash     string // argon2id with the default cost: no warning
	deadQPS  string // proxy_rest_uri of a QPS that has stopped
}

// checkSetup is one configuration; cases change a copy of the default.
type checkSetup struct {
	ldap               bool // include the LDAP provider
	ldapURLs           []string
	bindPassword       string
	issuer             string
	qpsURI             string
	allowedQPS         []string
	clientCert, rootCA string
	webTicketURL       string
	serverCert, svrKey string // server.tls
}

func newCheckEnv(t *testing.T) *checkEnv {
	t.Helper()
	e := &checkEnv{dir: t.TempDir()}
	e.slapd, e.slapdErr = ldaptest.StartSlapd(t.TempDir())
	if e.slapdErr == nil {
		t.Cleanup(func() { _ = e.slapd.Stop() })
	}
	e.op = oidctest.Start(t)
	e.op.RegisterClient(oidctest.Client{ID: "qlikgate", Secret: "s3cret", RedirectURIs: []string{"https://auth.example.com/callback/entra"}})
	down := oidctest.Start(t)
	e.downOP = down.Issuer()
	down.Stop()

	var err error
	if e.sense, err = qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.sense.Close)
	if e.files, err = e.sense.PKI().WriteFiles(e.dir); err != nil {
		t.Fatal(err)
	}
	dead, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr"})
	if err != nil {
		t.Fatal(err)
	}
	e.deadQPS = dead.ProxyRestURI()
	dead.Close()

	if e.qv, err = qliksim.NewQlikView(qliksim.QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.qv.Close)
	if e.qvWary, err = qliksim.NewQlikView(qliksim.QlikViewOptions{TrustedIPs: []string{"10.9.9.9"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.qvWary.Close)

	// RSA 2048 rather than keygen's 3072: far quicker under -race, and as
	// acceptable to the tenant.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	e.write(t, "jwt_private.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	if e.cloud, err = qliksim.NewCloud(qliksim.CloudOptions{
		IdPs:             []qliksim.CloudIdP{{Issuer: "qlikgate.test", KeyID: "qlikgate-1", PEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})}},
		WebIntegrationID: "wi-1", ValidOrigins: []string{"https://auth.example.com"},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cloud.Close)
	e.write(t, "tenant-ca.pem", e.cloud.PKI().RootPEM(), 0o644)

	if e.hash, err = static.HashPassword("pw", static.DefaultArgon2); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *checkEnv) write(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// defaults is the configuration where every check passes.
func (e *checkEnv) defaults() checkSetup {
	s := checkSetup{
		issuer: e.op.Issuer(), qpsURI: e.sense.ProxyRestURI(), clientCert: e.files.ClientCert, rootCA: e.files.Root,
		webTicketURL: e.qv.WebTicketURL(),
	}
	if e.slapd != nil {
		s.ldap, s.ldapURLs, s.bindPassword = true, []string{e.slapd.LDAPSURL}, e.slapd.BindPass
	}
	return s
}

// yaml renders s as a configuration file and returns its path.
func (e *checkEnv) yaml(t *testing.T, s checkSetup) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  public_url: https://auth.example.com/\n")
	if s.serverCert != "" {
		fmt.Fprintf(&b, "  tls: {cert_file: %q, key_file: %q}\n", s.serverCert, s.svrKey)
	}
	fmt.Fprintf(&b, "session: {secret: %q}\n", strings.Repeat("k", 40))
	fmt.Fprintf(&b, "providers:\n  - {id: local, kind: static, directory: LOCAL, static: {users: [{username: admin, password_hash: %q}]}}\n", e.hash)
	if s.ldap {
		fmt.Fprintf(&b, "  - id: corp\n    kind: ldap\n    directory: CORP\n    ldap: {urls: [%s], ca_file: %q, bind_dn: %q, bind_password: %q, user_base: %q, group_base: %q, dial_timeout: 2s}\n",
			quoteAll(s.ldapURLs), e.slapd.CAFile, e.slapd.BindDN, s.bindPassword, e.slapd.BaseDN, "ou=groups,"+e.slapd.BaseDN)
	}
	fmt.Fprintf(&b, "  - {id: entra, kind: oidc, directory: ENTRA, oidc: {issuer: %q, client_id: qlikgate, client_secret: s3cret, user_id_claim: preferred_username, timeout: 5s}}\n", s.issuer)
	fmt.Fprintf(&b, "targets:\n")
	fmt.Fprintf(&b, "  - id: sense\n    kind: sense-ticket\n    default: true\n    sense: {proxy_rest_uri: %q, allowed_proxy_rest_uris: [%s], client_cert_file: %q, client_key_file: %q, root_ca_file: %q, hub_url: %q, timeout: 5s}\n",
		s.qpsURI, quoteAll(s.allowedQPS), s.clientCert, strings.TrimSuffix(s.clientCert, ".pem")+"_key.pem", s.rootCA, e.sense.HubURL())
	fmt.Fprintf(&b, "  - {id: qv, kind: qlikview, qlikview: {webticket_url: %q, timeout: 5s}}\n", s.webTicketURL)
	fmt.Fprintf(&b, "  - {id: cloud, kind: cloud, cloud: {tenant_url: %q, web_integration_id: wi-1, issuer: qlikgate.test, key_id: qlikgate-1, private_key_file: %q, ca_file: %q}}\n",
		e.cloud.URL(), filepath.Join(e.dir, "jwt_private.pem"), filepath.Join(e.dir, "tenant-ca.pem"))
	return e.write(t, fmt.Sprintf("config-%d.yaml", time.Now().UnixNano()), []byte(b.String()), 0o600)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// writePair writes a client certificate and its key as name.pem and
// name_key.pem, the way the QMC names them, and returns the certificate's path.
func (e *checkEnv) writePair(t *testing.T, name string, cert, key []byte) string {
	t.Helper()
	e.write(t, name+"_key.pem", key, 0o600)
	return e.write(t, name+".pem", cert, 0o644)
}

// selfSigned writes a self-signed server certificate for host that expires
// after life, and returns the certificate and key paths.
func (e *checkEnv) selfSigned(t *testing.T, host string, life time.Duration) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(life)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return e.write(t, "server.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644),
		e.write(t, "server_key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// TestCheck runs `qlikgate check` against real peers, breaking one thing
// per case, and reads its output as an operator would.
func TestCheck(t *testing.T) {
	e := newCheckEnv(t)
	expiredCert, expiredKey, err := e.sense.PKI().ExpiredClient()
	if err != nil {
		t.Fatal(err)
	}
	otherSite, err := qliksim.NewPKI(nil)
	if err != nil {
		t.Fatal(err)
	}
	deadLDAP, err := ldaptest.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	sense := "targets[0] sense (sense-ticket): "
	tests := []struct {
		name      string
		needsLDAP bool
		mod       func(*checkSetup)
		code      int
		want      []string // lines (or parts of lines) in the output, marks included
		notWant   []string
	}{
		{name: "everything works", needsLDAP: true, code: exitOK, want: []string{
			"✔ providers[0] local (static): users: 1 password hashes parse (1 argon2id)",
			"✔ providers[1] corp (ldap): server ldaps://127.0.0.1:",
			`: connected over TLS (ldaps) and bound as "cn=svc,dc=example,dc=org"`,
			`✔ providers[1] corp (ldap): user_base "dc=example,dc=org": exists and the service account can read it`,
			"✔ providers[2] entra (oidc): issuer " + e.op.Issuer() + ": discovery document read",
			"✔ " + sense + "client_cert_file " + e.files.ClientCert + `: certificate "CN=QlikClient,O=qliksim" valid until`,
			"✔ " + sense + "client_key_file ",
			"✔ " + sense + "root_ca_file ",
			"✔ " + sense + "QPS " + e.sense.ProxyRestURI() + ": reachable with the client certificate",
			"✔ targets[1] qv (qlikview): GetWebTicket " + e.qv.WebTicketURL() + ": QlikView trusts this module (from 127.0.0.1)",
			"✔ targets[1] qv (qlikview): authenticate_url ",
			"✔ targets[2] cloud (cloud): private_key_file ",
			`RSA 2048-bit key (RS256), key_id "qlikgate-1"`,
			"✔ targets[2] cloud (cloud): tenant " + e.cloud.URL() + ": answers over TLS",
			" 0 failed",
		}, notWant: []string{"✘"}},
		{name: "QPS certificate from another CA", mod: func(s *checkSetup) {
			s.rootCA = e.write(t, "other-root.pem", otherSite.RootPEM(), 0o644)
		}, code: exitFail, want: []string{
			"✘ " + sense + "QPS " + e.sense.ProxyRestURI() + ": ",
			"certificate signed by unknown authority",
			"    fix: the QPS certificate is not issued by the CA in root_ca_file: export the certificates again from this site's QMC",
			"✘ " + sense + "client_cert_file " + e.files.ClientCert + `: certificate "CN=QlikClient,O=qliksim", issued by "CN=qliksim-CA,O=qliksim", is not issued by the configured CA`,
		}},
		{name: "expired client certificate", mod: func(s *checkSetup) {
			s.clientCert = e.writePair(t, "expired", expiredCert, expiredKey)
		}, code: exitFail, want: []string{
			"✘ " + sense + "client_cert_file " + filepath.Join(e.dir, "expired.pem") + `: certificate "CN=QlikClient,O=qliksim" expired on`,
			"    fix: the QPS refuses an expired client certificate",
			"✘ " + sense + "QPS " + e.sense.ProxyRestURI() + ": ",
			"    fix: the QPS says the client certificate has expired",
		}},
		{name: "server certificate expiring within 30 days", mod: func(s *checkSetup) {
			s.serverCert, s.svrKey = e.selfSigned(t, "auth.example.com", 10*24*time.Hour)
		}, code: exitOK, want: []string{
			`! server.tls: cert_file ` + filepath.Join(e.dir, "server.pem") + `: certificate "CN=auth.example.com" expires on `,
			", in 9 days",
			"    fix: get a new certificate for qlikgate's host name",
			"✔ server.tls: cert_file " + filepath.Join(e.dir, "server.pem") + ": names auth.example.com, the host of public_url",
			"! server.tls: cert_file " + filepath.Join(e.dir, "server.pem") + ": this machine does not trust it",
		}, notWant: []string{"✘"}},
		{name: "one of two LDAP servers is down", needsLDAP: true, mod: func(s *checkSetup) {
			s.ldapURLs = []string{"ldap://" + deadLDAP, e.slapd.LDAPSURL}
		}, code: exitFail, want: []string{
			"✘ providers[1] corp (ldap): server ldap://" + deadLDAP + ": dial: dial tcp " + deadLDAP + ": connect: connection refused",
			"    fix: nothing accepts connections on " + deadLDAP,
			"✔ providers[1] corp (ldap): server " + e.slapd.LDAPSURL + ": connected over TLS",
		}},
		{name: "wrong LDAP bind password", needsLDAP: true, mod: func(s *checkSetup) { s.bindPassword = "wrong" }, code: exitFail, want: []string{
			"✘ providers[1] corp (ldap): server " + e.slapd.LDAPSURL + ": ",
			"Invalid Credentials",
			"    fix: the directory refused the service account: check bind_dn",
		}},
		{name: "QPS down", mod: func(s *checkSetup) { s.allowedQPS = []string{e.deadQPS} }, code: exitFail, want: []string{
			"✔ " + sense + "QPS " + e.sense.ProxyRestURI() + ": reachable",
			"✘ " + sense + "QPS " + e.deadQPS + ": ",
			"connection refused",
			"    fix: nothing accepts connections on 127.0.0.1:",
		}},
		{name: "OIDC issuer down", mod: func(s *checkSetup) { s.issuer = e.downOP }, code: exitFail, want: []string{
			"✘ providers[1] entra (oidc): issuer " + e.downOP + ": discovery failed: ",
			"    fix: nothing accepts connections on 127.0.0.1:",
		}},
		{name: "QlikView does not trust this address", mod: func(s *checkSetup) { s.webTicketURL = e.qvWary.WebTicketURL() }, code: exitFail, want: []string{
			"✘ targets[1] qv (qlikview): GetWebTicket " + e.qvWary.WebTicketURL() + `: answered "Invalid call": QlikView does not trust this caller`,
			"    fix: QlikView does not trust this machine: add <TrustedIP>127.0.0.1</TrustedIP>",
		}},
		{name: "a file that cannot be read does not stop the other checks", mod: func(s *checkSetup) {
			s.clientCert = filepath.Join(e.dir, "missing.pem")
		}, code: exitFail, want: []string{
			"✘ " + sense + "sense.client_cert_file: open " + filepath.Join(e.dir, "missing.pem") + ": no such file or directory",
			"✔ targets[1] qv (qlikview): GetWebTicket ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsLDAP && e.slapdErr != nil {
				ldaptest.SkipOrFail(t, e.slapdErr)
			}
			s := e.defaults()
			if !tt.needsLDAP {
				s.ldap = false // keeps provider numbering stable whether slapd exists or not
			}
			if tt.mod != nil {
				tt.mod(&s)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"check", "-config", e.yaml(t, s)}, nil, &stdout, &stderr)
			out := stdout.String()
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q", w)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("stdout:\n%s\nstderr:\n%s", out, &stderr)
			}
		})
	}
}

// TestCheckCommandLine covers what is decided before any check runs.
func TestCheckCommandLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("server:\n  listne: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := static.HashPassword("pw", static.DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := qliksim.NewQlikView(qliksim.QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	good := filepath.Join(dir, "good.yaml")
	cfg := fmt.Sprintf(`
server: {public_url: "https://auth.example.com/"}
session: {secret: %q}
providers: [{id: local, kind: static, directory: LOCAL, static: {users: [{username: admin, password_hash: %q}]}}]
targets: [{id: qv, kind: qlikview, qlikview: {webticket_url: %q}}]
`, strings.Repeat("k", 40), hash, sim.WebTicketURL())
	if err := os.WriteFile(good, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args               []string
		code               int
		inStdout, inStderr string
	}{
		{[]string{"check", "-config", bad}, exitConfig, "", `server.listne: unknown key (did you mean "listen"?)`},
		{[]string{"check", "-config", filepath.Join(dir, "missing.yaml")}, exitConfig, "", "missing.yaml: no such file"},
		{[]string{"check", "extra"}, exitConfig, "", `unexpected argument "extra"`},
		{[]string{"check", "-timeout", "0s"}, exitConfig, "", "-timeout must be positive"},
		{[]string{"check", "-config", good, "-ascii"}, exitOK, "OK   targets[0] qv (qlikview): GetWebTicket", ""},
		{[]string{"check", "-config", good}, exitOK, "3 checks: 3 passed, 0 warnings, 0 failed", ""},
		{[]string{"help"}, exitOK, "check -config FILE", ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, nil, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.inStdout) || !strings.Contains(stderr.String(), tt.inStderr) {
			t.Errorf("qlikgate %v: exit %d\nstdout: %s\nstderr: %s", tt.args, code, &stdout, &stderr)
		}
	}
}
