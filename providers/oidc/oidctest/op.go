// Package oidctest runs a real OpenID provider inside a test: zitadel's
// example OP (github.com/zitadel/oidc/v3/example/server/exampleop), with its
// HTML login form, discovery, JWKS, token and userinfo endpoints, PKCE and
// client authentication. It is to OpenID Connect what net/http/httptest is
// to HTTP.
//
//	op := oidctest.Start(t)                       // users: DefaultUsers
//	op.RegisterClient(oidctest.Client{ID: "qlikgate", Secret: "s3cret",
//		RedirectURIs: []string{callbackURL}})
//	// … point the relying party at op.Issuer(), start a flow, then:
//	cb := op.Login(t, nil, authURL, "alice", "alicepass") // …/callback?code=…&state=…
//
// Unlike the example's own setup, each OP keeps its clients to itself (the
// example registers them in a package-global map), and the process-wide
// slog default logger is left alone (the example replaces it when given a
// logger). The example still logs one line per request to slog.Default().
//
// For a browser test: the login page has inputs #username and #password
// and a single submit button.
package oidctest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"

	"github.com/qlikgate/qlikgate/internal/testca"
)

// OP is a running OpenID provider.
type OP struct {
	issuer  string
	addr    string
	handler http.Handler
	tls     *tls.Config // nil: plain http
	caFile  string
	roots   *x509.CertPool
	store   *store

	mu  sync.Mutex
	srv *http.Server // nil while stopped
	ln  net.Listener
}

// Start runs an OP on http://127.0.0.1:<random port>/ with DefaultUsers. It
// stops when the test ends.
func Start(t testing.TB) *OP { return start(t, false) }

// StartTLS is Start over https with a certificate for 127.0.0.1 and
// localhost from a fresh test CA (see CAFile and Client).
func StartTLS(t testing.TB) *OP { return start(t, true) }

func start(t testing.TB, useTLS bool) *OP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("oidctest: listen: %v", err)
	}
	o := &OP{addr: ln.Addr().String()}
	scheme := "http"
	if useTLS {
		scheme = "https"
		ca, err := testca.New("oidctest CA")
		if err == nil {
			o.tls, err = ca.ServerTLS()
		}
		if err != nil {
			t.Fatalf("oidctest: %v", err)
		}
		o.roots = ca.Pool()
		o.caFile = filepath.Join(t.TempDir(), "oidctest-ca.pem")
		if err := os.WriteFile(o.caFile, ca.CertPEM, 0o600); err != nil {
			t.Fatalf("oidctest: %v", err)
		}
	}
	o.issuer = fmt.Sprintf("%s://%s/", scheme, o.addr) // the example OP wants the trailing slash
	users := &userStore{users: map[string]User{}}
	for _, u := range DefaultUsers() {
		users.add(u)
	}
	o.store = newStore(users)
	// A nil logger keeps SetupServer from calling slog.SetDefault.
	o.handler = exampleop.SetupServer(o.issuer, o.store, nil, false)
	o.serve(ln)
	t.Cleanup(o.Stop)
	return o
}

// Issuer is the issuer URL, with its trailing slash, as discovery reports it.
func (o *OP) Issuer() string { return o.issuer }

// CAFile is the PEM file of the CA that signed the OP's certificate, for a
// relying party's ca_file; empty for a plain-http OP.
func (o *OP) CAFile() string { return o.caFile }

// Client returns a new HTTP client with a cookie jar, acting as one browser,
// that trusts the OP's certificate.
func (o *OP) Client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if o.roots != nil {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: o.roots}}
	}
	return c
}

// AddUser adds or replaces (by ID) an account; it may be called while the
// OP runs.
func (o *OP) AddUser(u User) { o.store.users.add(u) }

// RegisterClient adds or replaces (by ID) an application; it may be called
// while the OP runs.
func (o *OP) RegisterClient(c Client) { o.store.register(newClient(c)) }

// Stop closes the listener and every connection: the issuer is down, as
// for a relying party that starts while its identity provider is
// unreachable. Users, clients and signing keys are kept for Restart.
func (o *OP) Stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.srv != nil {
		// Close the listener here: srv.Close does not know it until the
		// Serve goroutine has started, and until then the kernel would
		// still accept connections.
		_ = o.ln.Close()
		_ = o.srv.Close()
		o.srv, o.ln = nil, nil
	}
}

// Restart serves again on the same address, with the same keys, users,
// clients and pending logins.
func (o *OP) Restart(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel has
	// not released it yet.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ln, err = net.Listen("tcp", o.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("oidctest: restart on %s: %v", o.addr, err)
	}
	o.serve(ln)
}

func (o *OP) serve(ln net.Listener) {
	if o.tls != nil {
		ln = tls.NewListener(ln, o.tls)
	}
	srv := &http.Server{Handler: o.handler, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)} // TLS handshakes refused on purpose are not news
	o.mu.Lock()
	if o.srv != nil {
		o.mu.Unlock()
		_ = ln.Close()
		panic("oidctest: the OP is already running")
	}
	o.srv, o.ln = srv, ln
	o.mu.Unlock()
	go func() { _ = srv.Serve(ln) }() // returns http.ErrServerClosed after Stop
}
