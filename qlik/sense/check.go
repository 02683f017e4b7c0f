package sense

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qlikgate/qlikgate/check"
)

// probePath is the QPS call `qlikgate check` makes: the sessions of a user
// that does not exist. It needs the client certificate and an xrfkey like
// every call, is part of the stable (LOCKED) API, and changes nothing: the
// answer is an empty list (contract §1.5).
const probePath = "user/QLIKGATE/connectivity-check"

// Fixes that several checks share.
const (
	fixExport     = "export the certificates again from this site's QMC (Certificates: add this machine, include the secret key, format Platform independent PEM) and replace client.pem, client_key.pem and root.pem together"
	fixClientCert = "the QPS accepts only the client certificate of its own site: " + fixExport
)

// Diagnose checks the client certificate and key, the root CA, and every
// QPS address (each node, and allowed_proxy_rest_uris) with a TLS
// handshake and a harmless authenticated GET. Both Sense flows share it.
func (s *site) Diagnose(ctx context.Context) []check.Result {
	out := s.certificateChecks(time.Now())
	bases := append(slices.Clone(s.cfg.nodeList()), s.cfg.AllowedProxyRestURIs...)
	probes := make([]check.Result, len(bases))
	var wg sync.WaitGroup
	for i, b := range bases {
		wg.Go(func() { probes[i] = s.probeQPS(ctx, b) })
	}
	wg.Wait()
	return append(out, probes...)
}

// certificateChecks inspects the client certificate, its key and the root
// CA as loaded by Open.
func (s *site) certificateChecks(now time.Time) []check.Result {
	cert := s.qps.tlsConfig().Certificates[0]
	if cert.Leaf == nil { // GODEBUG=x509keypairleaf=0 leaves it empty
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return []check.Result{check.Fail("client certificate", err.Error(), fixExport)}
		}
		cert.Leaf = leaf
	}
	certName := "client_cert_file " + s.cfg.ClientCertFile
	keyName := "client_key_file " + s.cfg.ClientKeyFile
	if s.cfg.PFXFile != "" {
		certName, keyName = "pfx_file "+s.cfg.PFXFile, "pfx_file "+s.cfg.PFXFile+" (key)"
	}
	rootName := "root_ca_file " + s.cfg.RootCAFile
	roots, err := check.ReadCerts(s.cfg.RootCAFile)
	if err != nil { // Open read it a moment ago
		return []check.Result{check.Fail(rootName, err.Error(), fixExport)}
	}
	out := []check.Result{
		check.Validity(certName, cert.Leaf, now, "the QPS refuses an expired client certificate: "+fixExport),
		check.KeyMatches(keyName, cert.Leaf, cert.PrivateKey, "the key must be the one exported with the certificate: "+fixExport),
		check.IssuedBy(certName, cert.Leaf, nil, roots, "client certificate and root CA come from different exports: "+fixExport),
	}
	for _, r := range roots {
		out = append(out, check.Validity(rootName, r, now, "the site's root CA is renewed in Qlik Sense; "+fixExport))
	}
	return out
}

// probeQPS calls the QPS at base and explains a failure.
func (s *site) probeQPS(ctx context.Context, base string) check.Result {
	name := "QPS " + base
	var sessions []json.RawMessage
	err := s.qps.do(ctx, http.MethodGet, base, probePath, nil, &sessions)
	if err == nil {
		verified := "server certificate verified against root_ca_file"
		if s.cfg.ServerName != "" {
			verified += fmt.Sprintf(" as %q (server_name)", s.cfg.ServerName)
		}
		return check.Pass(name, "reachable with the client certificate: "+verified+"; GET "+probePath+" answered 200")
	}
	// net/http names its internal function in some errors; operators need not read it.
	detail := strings.Replace(err.Error(), "readLoopPeekFailLocked: ", "", 1)
	return check.Fail(name, detail, s.qpsFix(base, err))
}

// qpsFix says what to do about a failed QPS call.
func (s *site) qpsFix(base string, err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.Status == http.StatusForbidden && strings.Contains(se.Body, "XSRF"):
			return "the QPS did not receive the xrfkey intact: something between qlikgate and the QPS (an HTTP proxy or load balancer) changes the query string or drops the X-Qlik-Xrfkey header; connect to the QPS directly on port 4243"
		case se.Status == http.StatusForbidden:
			return "the QPS refused the client certificate (HTTP 403): " + fixClientCert
		case se.Status == http.StatusNotFound:
			return "there is no QPS API at this address: check the virtual proxy prefix (https://node:4243/qps/{prefix}/, no prefix for the default virtual proxy) and that the port is the QPS REST port (4243)"
		}
		return "the QPS refused the call: see the Proxy log on the node (C:\\ProgramData\\Qlik\\Sense\\Log\\Proxy) for the reason"
	}
	u, _ := url.Parse(base)
	peer := check.Peer{What: "the QPS", Addr: urlHostPort(u), CAKey: "root_ca_file"}
	cause, fix := peer.Explain(err)
	switch cause {
	case check.CauseUnknownCA:
		return "the QPS certificate is not issued by the CA in root_ca_file: " + fixExport
	case check.CauseNameMismatch:
		return s.nameFix(u.Hostname(), err)
	case check.CauseAlert:
		alert := check.Alert(err)
		if strings.Contains(alert, "expired") {
			return "the QPS says the client certificate has expired: " + fixExport
		}
		return fmt.Sprintf("the QPS refused the client certificate in the TLS handshake (%s): %s", alert, fixClientCert)
	case check.CauseClosed:
		return "the QPS closed the connection during the TLS handshake, as it does when it refuses the client certificate: " + fixClientCert
	case check.CauseOther:
		return "check proxy_rest_uri (https://node:4243/qps/{prefix}/) and that the Qlik Sense Proxy Service runs on the node"
	}
	return fix
}

// nameFix suggests a server_name the QPS certificate holds: Qlik node
// certificates often carry only the short host name.
func (s *site) nameFix(host string, err error) string {
	var h x509.HostnameError
	errors.As(err, &h)
	names := check.CertNames(h.Certificate)
	if len(names) == 0 {
		return "the QPS certificate names no host: re-create the node's certificates in the QMC"
	}
	if s.cfg.ServerName != "" {
		return fmt.Sprintf("server_name %q is not in the QPS certificate, which is valid for %s: set server_name to one of these", s.cfg.ServerName, strings.Join(names, ", "))
	}
	return fmt.Sprintf("the QPS certificate is valid for %s, not %s: set server_name: %s (verification stays on), or use that name in the URL",
		strings.Join(names, ", "), host, names[0])
}

// tlsConfig is the mutual-TLS configuration the client was built with.
func (c *qpsClient) tlsConfig() *tls.Config {
	return c.http.Transport.(*http.Transport).TLSClientConfig
}
