package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for 127.0.0.1 with the given
// serial number and returns its pool.
func writePair(t *testing.T, dir string, serial int64) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "qlikgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool
}

func TestServeTLSReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	pool1 := writePair(t, dir, 1)
	files := TLSConfig{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") })
	go func() { done <- Serve(ctx, ln, h, files, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "https://" + ln.Addr().String() + "/"
	serial := func(pool *x509.CertPool, maxVersion uint16) (int64, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), nil
	}
	waitServing := time.Now().Add(5 * time.Second)
	for {
		if _, err := serial(pool1, 0); err == nil || time.Now().After(waitServing) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, err := serial(pool1, 0); err != nil || n != 1 {
		t.Fatalf("first certificate: %d, %v", n, err)
	}
	if _, err := serial(pool1, tls.VersionTLS11); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	// Renew: new files on disk, then the next handshake after the recheck
	// interval uses them, without a restart.
	pool2 := writePair(t, dir, 2)
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := serial(pool2, 0)
		if err == nil && n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was not picked up: %d, %v", n, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestCertReloaderKeepsOldPairOnBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	writePair(t, dir, 7)
	r, err := newCertReloader(TLSConfig{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.recheck = 0
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("half written"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := r.get(nil)
	if err != nil || c.Leaf.SerialNumber.Int64() != 7 {
		t.Fatalf("after a broken renewal: %v, %v", c, err)
	}
	if _, err := newCertReloader(TLSConfig{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: "x"}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("missing files accepted")
	}
}

func TestLooseTLSKeyWarns(t *testing.T) {
	dir := t.TempDir()
	writePair(t, dir, 9)
	files := TLSConfig{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	for _, mode := range []os.FileMode{0o600, 0o644} {
		if err := os.Chmod(files.KeyFile, mode); err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		if _, err := newCertReloader(files, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
			t.Fatal(err)
		}
		if warned := strings.Contains(logs.String(), "can be read by other users"); warned != (mode == 0o644) {
			t.Errorf("mode %v: warned %v", mode, warned)
		}
	}
}
