package oidc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// newHTTPClient builds the one client used for every call to the issuer
// (discovery, keys, token, userinfo), so connections are reused and the
// CA and timeout apply everywhere.
func newHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone() // keeps proxy-from-environment
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := caPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	tr.ResponseHeaderTimeout = timeout
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: checkRedirect,
	}, nil
}

// checkRedirect follows redirects of GETs (discovery and keys behind a load
// balancer) but never of the token request: a 307 would resend the code,
// verifier and client secret to wherever it points.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.Method != http.MethodGet {
		return http.ErrUseLastResponse
	}
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	return nil
}

// caPool adds the file's certificates to the system roots, so a private CA
// can be added without breaking an issuer behind a public certificate.
func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New(file + ": no PEM certificate found")
	}
	return pool, nil
}
