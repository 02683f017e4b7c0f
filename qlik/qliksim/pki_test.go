package qliksim

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func parsePEMCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", b)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return c
}

var pkiKinds = []struct {
	name    string
	new     func() (*PKI, error)
	keyType string
}{
	{"ecdsa", func() (*PKI, error) { return NewPKI(nil) }, "PRIVATE KEY"},
	{"rsa", rsaPKI, "RSA PRIVATE KEY"},
}

func TestPKICertificates(t *testing.T) {
	for _, k := range pkiKinds {
		t.Run(k.name, func(t *testing.T) {
			p, err := k.new()
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			ca := parsePEMCert(t, p.RootPEM())
			if ca.Subject.CommonName != "qliksim-CA" || !ca.IsCA {
				t.Errorf("CA: CN %q, IsCA %v", ca.Subject.CommonName, ca.IsCA)
			}
			if !ca.NotBefore.Before(now.Add(-time.Minute)) || ca.NotAfter.Before(now.Add(360*24*time.Hour)) {
				t.Errorf("CA validity %v – %v, want backdated and about a year", ca.NotBefore, ca.NotAfter)
			}

			client := parsePEMCert(t, p.ClientCertPEM())
			if client.Subject.CommonName != "QlikClient" {
				t.Errorf("client CN %q, want QlikClient", client.Subject.CommonName)
			}
			if !slices.Equal(client.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
				t.Errorf("client EKU %v, want clientAuth", client.ExtKeyUsage)
			}
			if _, err := client.Verify(x509.VerifyOptions{Roots: p.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("client certificate does not verify against the CA: %v", err)
			}

			srv := p.server.Leaf
			if !slices.Equal(srv.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("server EKU %v, want serverAuth", srv.ExtKeyUsage)
			}
			if _, err := srv.Verify(x509.VerifyOptions{Roots: p.CertPool(), DNSName: "localhost"}); err != nil {
				t.Errorf("server certificate does not verify for localhost: %v", err)
			}

			blk, _ := pem.Decode(p.ClientKeyPEM())
			if blk == nil || blk.Type != k.keyType {
				t.Fatalf("client key PEM type %v, want %q", blk, k.keyType)
			}
			if _, err := tls.X509KeyPair(p.ClientCertPEM(), p.ClientKeyPEM()); err != nil {
				t.Errorf("client cert and key do not pair: %v", err)
			}
		})
	}
}

func TestPKIServerNames(t *testing.T) {
	tests := []struct {
		name    string
		names   []string
		wantDNS []string
		wantIPs []string
	}{
		{"default", nil, []string{"localhost"}, []string{"127.0.0.1", "::1"}},
		{"short hostname only", []string{"qlikserver1"}, []string{"qlikserver1"}, nil},
		{"several names", []string{"qlikserver1", "qlikserver1.corp.example"}, []string{"qlikserver1", "qlikserver1.corp.example"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPKI(tt.names)
			if err != nil {
				t.Fatal(err)
			}
			leaf := p.server.Leaf
			if !slices.Equal(leaf.DNSNames, tt.wantDNS) {
				t.Errorf("DNS names %v, want %v", leaf.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IP SANs %v, want %v", ips, tt.wantIPs)
			}
			err = leaf.VerifyHostname("127.0.0.1")
			if (err == nil) != (tt.wantIPs != nil) {
				t.Errorf("VerifyHostname(127.0.0.1) = %v", err)
			}
		})
	}
}

func TestWriteFiles(t *testing.T) {
	for _, k := range pkiKinds {
		t.Run(k.name, func(t *testing.T) {
			p, err := k.new()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir() + "/Exported Certificates"
			f, err := p.WriteFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := Files{
				ClientCert: dir + "/client.pem", ClientKey: dir + "/client_key.pem",
				Root: dir + "/root.pem", PFX: dir + "/client.pfx", PFXPassword: "qlik",
			}
			if f != want {
				t.Errorf("Files = %+v, want %+v", f, want)
			}

			if _, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey); err != nil {
				t.Errorf("LoadX509KeyPair: %v", err)
			}
			for path, mode := range map[string]os.FileMode{f.ClientKey: 0o600, f.PFX: 0o600, f.ClientCert: 0o644, f.Root: 0o644} {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
				}
			}
			root, err := os.ReadFile(f.Root)
			if err != nil || !bytes.Equal(root, p.RootPEM()) {
				t.Errorf("root.pem differs from RootPEM (err %v)", err)
			}

			pfx, err := os.ReadFile(f.PFX)
			if err != nil {
				t.Fatal(err)
			}
			key, cert, cas, err := pkcs12.DecodeChain(pfx, "qlik")
			if err != nil {
				t.Fatalf("DecodeChain: %v", err)
			}
			if key == nil || cert.Subject.CommonName != "QlikClient" {
				t.Errorf("PFX: key %T, cert CN %q", key, cert.Subject.CommonName)
			}
			if len(cas) != 1 || cas[0].Subject.CommonName != "qliksim-CA" {
				t.Errorf("PFX CA chain %d certificates, want the site CA", len(cas))
			}
			if _, _, _, err := pkcs12.DecodeChain(pfx, "wrong"); err == nil {
				t.Error("PFX decodes with a wrong password")
			}
		})
	}
}

func TestForeignAndExpiredClients(t *testing.T) {
	p, err := NewPKI(nil)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(certPEM []byte) error {
		_, err := parsePEMCert(t, certPEM).Verify(x509.VerifyOptions{
			Roots: p.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		return err
	}

	fc, fk, err := p.ForeignClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(fc, fk); err != nil {
		t.Errorf("foreign pair: %v", err)
	}
	var unknown x509.UnknownAuthorityError
	if err := verify(fc); !errors.As(err, &unknown) {
		t.Errorf("foreign client verifies against the site CA: %v", err)
	}

	ec, ek, err := p.ExpiredClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(ec, ek); err != nil {
		t.Errorf("expired pair: %v", err)
	}
	if c := parsePEMCert(t, ec); !c.NotAfter.Before(time.Now()) {
		t.Errorf("expired client NotAfter %v is not in the past", c.NotAfter)
	}
	var invalid x509.CertificateInvalidError
	if err := verify(ec); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired client: verify error %v, want Expired", err)
	}
}
