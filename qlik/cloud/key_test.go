package cloud

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/qlikgate/qlikgate/qlik"
)

func TestGenerateKey(t *testing.T) {
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg, func(t *testing.T) {
			p := keyPair(t, alg)
			k, err := parsePrivateKeyPEM(p.private)
			if err != nil {
				t.Fatalf("parse generated key: %v", err)
			}
			if string(k.alg) != alg {
				t.Errorf("alg %s, want %s", k.alg, alg)
			}
			if !bytes.HasPrefix(p.private, []byte("-----BEGIN PRIVATE KEY-----")) || !bytes.HasPrefix(p.public, []byte("-----BEGIN PUBLIC KEY-----")) {
				t.Errorf("PEM types: %.30q / %.30q", p.private, p.public)
			}
			pub, err := PublicKeyPEM(p.private)
			if err != nil || !bytes.Equal(pub, p.public) {
				t.Errorf("PublicKeyPEM does not give back the generated public key: %v", err)
			}
			if rk, ok := k.key.(*rsa.PrivateKey); ok && rk.N.BitLen() != GeneratedRSABits {
				t.Errorf("RSA key of %d bits", rk.N.BitLen())
			}
		})
	}
	if _, _, err := GenerateKey("HS256"); err == nil {
		t.Error("GenerateKey(HS256) succeeded")
	}
}

func TestParsePrivateKeyForms(t *testing.T) {
	rsaKey, err := parsePrivateKeyPEM(keyPair(t, RS256).private)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := parsePrivateKeyPEM(keyPair(t, ES256).private)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	sec1, err := x509.MarshalECPrivateKey(ecKey.key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // deliberately too small
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(rsaKey.key.Public())

	tests := []struct {
		name string
		pem  []byte
		alg  jose.SignatureAlgorithm
		err  string
	}{
		{name: "PKCS#1 RSA", pem: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey.key.(*rsa.PrivateKey))), alg: jose.RS256},
		{name: "PKCS#8 RSA", pem: keyPair(t, RS256).private, alg: jose.RS256},
		{name: "PKCS#8 EC", pem: keyPair(t, ES256).private, alg: jose.ES256},
		{name: "SEC 1 EC after EC PARAMETERS", pem: append(block("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), block("EC PRIVATE KEY", sec1)...), alg: jose.ES256},
		{name: "RSA 1024", pem: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), err: "too short"},
		{name: "P-384", pem: block("PRIVATE KEY", p384DER), err: "P-256"},
		{name: "Ed25519", pem: block("PRIVATE KEY", edDER), err: "Ed25519"},
		{name: "encrypted PKCS#8", pem: block("ENCRYPTED PRIVATE KEY", []byte{1}), err: "encrypted"},
		{name: "encrypted PKCS#1", pem: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), err: "encrypted"},
		{name: "public key instead", pem: block("PUBLIC KEY", pubDER), err: "not a private key"},
		{name: "garbage", pem: []byte("not a key"), err: "no PEM private key"},
		{name: "broken DER", pem: block("PRIVATE KEY", []byte{1, 2, 3}), err: "parse PRIVATE KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := parsePrivateKeyPEM(tt.pem)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || k.alg != tt.alg {
				t.Fatalf("alg %s, err %v; want %s", k.alg, err, tt.alg)
			}
		})
	}
}

func TestOpenKeyErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCA := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(badCA, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"missing key file", func(c *Config) { c.PrivateKeyFile = filepath.Join(dir, "absent.pem") }, "private_key_file: open " + filepath.Join(dir, "absent.pem")},
		{"not a key", func(c *Config) { c.PrivateKeyFile = bad }, "private_key_file: " + bad + ": no PEM private key"},
		{"missing CA file", func(c *Config) { c.CAFile = filepath.Join(dir, "absent-ca.pem") }, "ca_file: open"},
		{"CA file without certificates", func(c *Config) { c.CAFile = badCA }, "ca_file: " + badCA + ": no PEM certificate"},
		{"invalid config", func(c *Config) { c.TokenLifetime = 2 * 3600e9 }, "token_lifetime:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, "https://acme.eu.qlikcloud.com", RS256)
			tt.edit(cfg)
			_, err := Open(context.Background(), qlik.Common{ID: "cloud"}, cfg, qlik.Env{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Open error %v, want prefix %q", err, tt.want)
			}
		})
	}
}
