package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"time"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/web"
)

// serverTLS checks server.tls, the certificate qlikgate serves HTTPS with:
// it loads, is valid, and names the host of public_url.
type serverTLS struct {
	tls       web.TLSConfig
	publicURL string
}

func (s serverTLS) Diagnose(context.Context) []check.Result {
	name := "cert_file " + s.tls.CertFile
	renew := "get a new certificate for qlikgate's host name and replace cert_file and key_file"
	pair, err := tls.LoadX509KeyPair(s.tls.CertFile, s.tls.KeyFile)
	if err != nil {
		return []check.Result{check.Fail(name, err.Error(), "cert_file must be a PEM certificate (followed by its intermediates) and key_file its PEM private key")}
	}
	leaf := pair.Leaf
	out := []check.Result{
		check.Validity(name, leaf, time.Now(), renew),
		check.KeyMatches("key_file "+s.tls.KeyFile, leaf, pair.PrivateKey, "key_file must be the key of the certificate in cert_file"),
	}
	if u, err := url.Parse(s.publicURL); err == nil && u.Scheme == "https" && u.Hostname() != "" {
		out = append(out, hostResult(name, leaf, u.Hostname()))
	}
	return append(out, trustResult(name, pair))
}

// hostResult checks that browsers reaching public_url accept the name. A
// reverse proxy may serve public_url with its own certificate, hence a
// warning.
func hostResult(name string, leaf *x509.Certificate, host string) check.Result {
	if err := leaf.VerifyHostname(host); err != nil {
		return check.Warning(name, fmt.Sprintf("does not name %s, the host of public_url (%v)", host, err),
			"browsers reaching qlikgate directly will refuse it: "+"get a certificate that names "+host+", unless a reverse proxy serves public_url with its own")
	}
	return check.Pass(name, "names "+host+", the host of public_url")
}

// trustResult checks the chain against this machine's trust store, which
// is a fair guess of what the users' browsers trust.
func trustResult(name string, pair tls.Certificate) check.Result {
	roots, err := x509.SystemCertPool()
	if err != nil {
		return check.Warning(name, "cannot read this machine's trust store: "+err.Error(), "check the chain in a browser")
	}
	inter := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return check.Warning(name, fmt.Sprintf("this machine does not trust it (%v)", err),
			"browsers without its CA will warn: add the intermediate certificates after the certificate in cert_file, or deploy the CA to the users' machines")
	}
	return check.Pass(name, "chains to a CA this machine trusts")
}
