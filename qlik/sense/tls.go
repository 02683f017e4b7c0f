package sense

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"runtime"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/qlikgate/qlikgate/check"
)

// clientTLS builds the mutual-TLS configuration from the certificates
// exported from the QMC: client.pem + client_key.pem + root.pem, or
// client.pfx (+ root.pem when the PFX does not carry the CA).
// Errors name the configuration key they concern.
func clientTLS(c *Config) (*tls.Config, *x509.Certificate, error) {
	var (
		cert tls.Certificate
		cas  []*x509.Certificate
		errs []error
	)
	if c.PFXFile != "" {
		data, err := os.ReadFile(c.PFXFile)
		if err != nil {
			return nil, nil, fmt.Errorf("pfx_file: %w", err)
		}
		key, leaf, chain, err := pkcs12.DecodeChain(data, c.PFXPassword)
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, nil, fmt.Errorf("pfx_password: wrong password for %s", c.PFXFile)
		} else if err != nil {
			return nil, nil, fmt.Errorf("pfx_file: %s: %w", c.PFXFile, err)
		}
		cert = tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
		cas = chain
	} else {
		certPEM, err := os.ReadFile(c.ClientCertFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("client_cert_file: %w", err))
		}
		keyPEM, err := os.ReadFile(c.ClientKeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("client_key_file: %w", err))
		}
		if len(errs) == 0 {
			cert, err = tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				errs = append(errs, fmt.Errorf("client_key_file: %s with %s: %w", c.ClientKeyFile, c.ClientCertFile, err))
			}
		}
	}
	pool := x509.NewCertPool()
	if c.RootCAFile != "" {
		roots, err := check.ReadCerts(c.RootCAFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("root_ca_file: %w", err))
		}
		for _, r := range roots {
			pool.AddCert(r)
		}
	} else {
		for _, r := range cas {
			pool.AddCert(r)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   c.ServerName, // empty: the host of the URL, as usual
	}, cert.Leaf, nil
}

// looseKeyFile names a private key file that users other than the owner
// can read (Unix permissions only; on Windows access is governed by ACLs,
// which `qlikgate check` cannot judge). The key logs anyone into Qlik.
func looseKeyFile(c *Config) (string, os.FileMode, bool) {
	if runtime.GOOS == "windows" {
		return "", 0, false
	}
	for _, path := range []string{c.ClientKeyFile, c.PFXFile} {
		if path == "" {
			continue
		}
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
			return path, st.Mode().Perm(), true
		}
	}
	return "", 0, false
}
