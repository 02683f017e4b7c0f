package ldaptest

import (
	"os"
	"path/filepath"

	"github.com/qlikgate/qlikgate/internal/testca"
)

// TLSFiles are PEM files for a server: its CA, certificate and key.
type TLSFiles = testca.Files

// writeTLS makes a CA and a server certificate in dir.
func writeTLS(dir string) (TLSFiles, error) {
	f, _, err := testca.WriteServer(dir, "qlikgate test CA")
	return f, err
}

// WriteOtherCA writes the certificate of a CA that signed nothing, for
// tests that must see verification fail.
func WriteOtherCA(dir string) (string, error) {
	ca, err := testca.New("some other CA")
	if err != nil {
		return "", err
	}
	name := filepath.Join(dir, "other-ca.crt")
	return name, os.WriteFile(name, ca.CertPEM, 0o600)
}
