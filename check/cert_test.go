package check

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert is a certificate with its key.
type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// issue makes a certificate valid from notBefore to notAfter, signed by
// parent (self-signed when nil); ca makes it a CA.
func issue(t *testing.T, cn string, parent *testCert, notBefore, notAfter time.Time, ca bool) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: ca, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	parentCert, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		parentCert, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key}
}

func TestValidity(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name       string
		from, to   time.Time
		ok, warn   bool
		wantDetail string
	}{
		{"valid", now.Add(-day), now.Add(365 * day), true, false, `certificate "CN=c" valid until 2027-06-01 (365 days)`},
		{"expires within 30 days", now.Add(-day), now.Add(10 * day), true, true, "expires on 2026-06-11, in 10 days"},
		{"expires tomorrow", now.Add(-day), now.Add(20 * time.Hour), true, true, "in 20 hours"},
		{"expired", now.Add(-30 * day), now.Add(-day), false, false, "expired on 2026-05-31 (24 hours ago)"},
		{"not yet valid", now.Add(day), now.Add(30 * day), false, false, "is not valid before 2026-06-02T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := issue(t, "c", nil, tt.from, tt.to, false)
			r := Validity("client.pem", c.cert, now, "renew it")
			if r.OK != tt.ok || r.Warn != tt.warn || !strings.Contains(r.Detail, tt.wantDetail) {
				t.Fatalf("got %+v, want ok=%v warn=%v detail ∋ %q", r, tt.ok, tt.warn, tt.wantDetail)
			}
			if (!r.OK || r.Warn) && r.Fix == "" {
				t.Fatal("no fix")
			}
		})
	}
}

func TestIssuedBy(t *testing.T) {
	now := time.Now()
	root := issue(t, "root", nil, now.Add(-time.Hour), now.Add(24*time.Hour), true)
	other := issue(t, "other", nil, now.Add(-time.Hour), now.Add(24*time.Hour), true)
	inter := issue(t, "inter", root, now.Add(-time.Hour), now.Add(24*time.Hour), true)
	direct := issue(t, "direct", root, now.Add(-time.Hour), now.Add(time.Hour), false)
	viaInter := issue(t, "via", inter, now.Add(-time.Hour), now.Add(time.Hour), false)
	// Issued before the root existed and expired since: still issued by it.
	expired := issue(t, "expired", root, now.Add(-72*time.Hour), now.Add(-48*time.Hour), false)
	tests := []struct {
		name          string
		leaf          *testCert
		intermediates []*x509.Certificate
		roots         []*x509.Certificate
		ok            bool
		want          string
	}{
		{"direct", direct, nil, []*x509.Certificate{other.cert, root.cert}, true, `is issued by "CN=root"`},
		{"through an intermediate", viaInter, []*x509.Certificate{inter.cert}, []*x509.Certificate{root.cert}, true, `is issued by "CN=root"`},
		{"expired leaf", expired, nil, []*x509.Certificate{root.cert}, true, `is issued by "CN=root"`},
		{"another CA", direct, nil, []*x509.Certificate{other.cert}, false, `issued by "CN=root", is not issued by the configured CA ("CN=other")`},
		{"no CA", direct, nil, nil, false, "no CA certificate"},
	}
	for _, tt := range tests {
		r := IssuedBy("client.pem", tt.leaf.cert, tt.intermediates, tt.roots, "export both")
		if r.OK != tt.ok || !strings.Contains(r.Detail, tt.want) {
			t.Errorf("%s: got %+v, want ok=%v detail ∋ %q", tt.name, r, tt.ok, tt.want)
		}
	}
}

func TestKeyMatches(t *testing.T) {
	now := time.Now()
	a := issue(t, "a", nil, now, now.Add(time.Hour), false)
	b := issue(t, "b", nil, now, now.Add(time.Hour), false)
	if r := KeyMatches("key.pem", a.cert, a.key, "fix"); !r.OK {
		t.Errorf("matching key: %+v", r)
	}
	if r := KeyMatches("key.pem", a.cert, b.key, "fix"); r.OK || !strings.Contains(r.Detail, `does not belong to certificate "CN=a"`) {
		t.Errorf("other key: %+v", r)
	}
}

func TestCAFile(t *testing.T) {
	now := time.Now()
	ca := issue(t, "ca", nil, now.Add(-time.Hour), now.Add(400*24*time.Hour), true)
	soon := issue(t, "soon", nil, now.Add(-time.Hour), now.Add(5*24*time.Hour), true)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: soon.cert.Raw})...)
	der := filepath.Join(dir, "root.cer")
	garbage := filepath.Join(dir, "garbage.pem")
	for path, data := range map[string][]byte{bundle: pemData, der: ca.cert.Raw, garbage: []byte("not a certificate")} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs := CAFile("ca_file", bundle, now)
	if len(rs) != 2 || !rs[0].OK || rs[0].Warn || !rs[1].Warn || rs[0].Name != "ca_file "+bundle {
		t.Errorf("bundle: %+v", rs)
	}
	if rs := CAFile("ca_file", der, now); len(rs) != 1 || !rs[0].OK {
		t.Errorf("DER: %+v", rs)
	}
	for _, path := range []string{garbage, filepath.Join(dir, "missing.pem")} {
		if rs := CAFile("ca_file", path, now); len(rs) != 1 || rs[0].OK || rs[0].Fix == "" {
			t.Errorf("%s: %+v", path, rs)
		}
	}
}

func TestFingerprint(t *testing.T) {
	// echo -n abc | sha256sum
	if got := Fingerprint([]byte("abc")); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Fingerprint = %s", got)
	}
}
