package qliksim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// PKI is the certificate set of a simulated Qlik Sense site: the site's
// self-signed root CA, the proxy's server certificate and the "QlikClient"
// client certificate that the QMC exports for external programs.
type PKI struct {
	rsa bool // key algorithm of every key in the set: RSA 2048, else ECDSA P-256

	caCert  *x509.Certificate
	caKey   crypto.Signer
	rootPEM []byte

	server tls.Certificate

	clientCert    *x509.Certificate
	clientKey     crypto.Signer
	clientCertPEM []byte
	clientKeyPEM  []byte
}

// certificate lifetimes. NotBefore lies in the past so that a machine whose
// clock is slightly behind still accepts the certificates.
const (
	backdate = time.Hour
	validity = 365 * 24 * time.Hour
)

// NewPKI generates a site PKI with ECDSA P-256 keys, which is fast enough to
// create one per test. serverNames are the DNS names of the server
// certificate; when empty the certificate holds "localhost" and the loopback
// IP addresses. When not empty it holds only those names and no IP address,
// like a Qlik node certificate issued for the short hostname: a client that
// dials 127.0.0.1 must then set the expected server name explicitly.
func NewPKI(serverNames []string) (*PKI, error) {
	return newPKI(serverNames, false)
}

// NewPKIRSA is NewPKI with RSA 2048 keys, the client key encoded as PKCS#1
// ("RSA PRIVATE KEY") like Qlik's QMC PEM export.
func NewPKIRSA(serverNames []string) (*PKI, error) {
	return newPKI(serverNames, true)
}

func newPKI(serverNames []string, useRSA bool) (*PKI, error) {
	p := &PKI{rsa: useRSA}
	var err error
	p.caCert, p.caKey, err = newCA(useRSA, "qliksim-CA")
	if err != nil {
		return nil, err
	}
	p.rootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.caCert.Raw})

	if p.server, err = p.newServer(serverNames); err != nil {
		return nil, err
	}
	now := time.Now()
	p.clientCert, p.clientKey, err = p.issueClient(now.Add(-backdate), now.Add(validity))
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	p.clientCertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.clientCert.Raw})
	if p.clientKeyPEM, err = encodeKey(p.clientKey); err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	return p, nil
}

// RootPEM returns the CA certificate in PEM, the QMC export's root.pem.
func (p *PKI) RootPEM() []byte { return clone(p.rootPEM) }

// ClientCertPEM returns the client certificate in PEM, the QMC export's client.pem.
func (p *PKI) ClientCertPEM() []byte { return clone(p.clientCertPEM) }

// ClientKeyPEM returns the client key in PEM, the QMC export's client_key.pem:
// PKCS#1 for an RSA PKI, PKCS#8 for an ECDSA one.
func (p *PKI) ClientKeyPEM() []byte { return clone(p.clientKeyPEM) }

// CertPool returns a new pool holding only the site CA, for verifying the
// simulator's server certificate.
func (p *PKI) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	return pool
}

// ClientTLSConfig returns a client configuration that presents the client
// certificate and trusts only the site CA. serverName is the name to verify
// the server certificate against; "" lets crypto/tls use the dialled host.
func (p *PKI) ClientTLSConfig(serverName string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{{
			Certificate: [][]byte{p.clientCert.Raw},
			PrivateKey:  p.clientKey,
			Leaf:        p.clientCert,
		}},
		RootCAs:    p.CertPool(),
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
	}
}

// ForeignClient returns a "QlikClient" certificate and key issued by another
// CA, as a client configured with a different site's export would present.
func (p *PKI) ForeignClient() (certPEM, keyPEM []byte, err error) {
	caCert, caKey, err := newCA(p.rsa, "qliksim-foreign-CA")
	if err != nil {
		return nil, nil, err
	}
	foreign := &PKI{rsa: p.rsa, caCert: caCert, caKey: caKey}
	now := time.Now()
	cert, key, err := foreign.issueClient(now.Add(-backdate), now.Add(validity))
	if err != nil {
		return nil, nil, fmt.Errorf("foreign client certificate: %w", err)
	}
	return encodePair(cert, key)
}

// ExpiredClient returns a client certificate and key issued by the site CA
// whose validity ended yesterday.
func (p *PKI) ExpiredClient() (certPEM, keyPEM []byte, err error) {
	now := time.Now()
	cert, key, err := p.issueClient(now.Add(-30*24*time.Hour), now.Add(-24*time.Hour))
	if err != nil {
		return nil, nil, fmt.Errorf("expired client certificate: %w", err)
	}
	return encodePair(cert, key)
}

func newCA(useRSA bool, cn string) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey(useRSA)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"qliksim"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	cert, err := sign(tmpl, nil, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	return cert, key, nil
}

func (p *PKI) newServer(serverNames []string) (tls.Certificate, error) {
	key, err := newKey(p.rsa)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("server key: %w", err)
	}
	names := serverNames
	var ips []net.IP
	if len(names) == 0 {
		names = []string{"localhost"}
		ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0], Organization: []string{"qliksim"}},
		NotBefore:   now.Add(-backdate),
		NotAfter:    now.Add(validity),
		DNSNames:    names,
		IPAddresses: ips,
		KeyUsage:    p.leafKeyUsage(),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	cert, err := sign(tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("server certificate: %w", err)
	}
	return tls.Certificate{
		Certificate: [][]byte{cert.Raw, p.caCert.Raw},
		PrivateKey:  key,
		Leaf:        cert,
	}, nil
}

// issueClient issues a "QlikClient" certificate valid from notBefore to
// notAfter, signed by p's CA.
func (p *PKI) issueClient(notBefore, notAfter time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey(p.rsa)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "QlikClient", Organization: []string{"qliksim"}},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    p.leafKeyUsage(),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, err := sign(tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func (p *PKI) leafKeyUsage() x509.KeyUsage {
	if p.rsa {
		// RSA key exchange (TLS 1.2 without ECDHE) encrypts with the key.
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	return x509.KeyUsageDigitalSignature
}

// sign creates a certificate from tmpl with a random serial number; a nil
// parent makes it self-signed.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

func newKey(useRSA bool) (crypto.Signer, error) {
	if useRSA {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return k, nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ECDSA key: %w", err)
	}
	return k, nil
}

// encodeKey renders a private key the way the QMC export does for RSA
// (PKCS#1); ECDSA keys use PKCS#8, so clients must accept both forms.
func encodeKey(key crypto.Signer) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("marshal ECDSA key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	default:
		return nil, errors.New("unsupported key type")
	}
}

func encodePair(cert *x509.Certificate, key crypto.Signer) (certPEM, keyPEM []byte, err error) {
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), keyPEM, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
