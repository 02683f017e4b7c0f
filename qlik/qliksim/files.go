package qliksim

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"software.sslmate.com/src/go-pkcs12"
)

// PFXPassword is the password of the client.pfx written by WriteFiles.
const PFXPassword = "qlik"

// Files lists the paths written by WriteFiles.
type Files struct {
	ClientCert  string // client.pem
	ClientKey   string // client_key.pem
	Root        string // root.pem
	PFX         string // client.pfx: client key, certificate and CA
	PFXPassword string // password of PFX
}

// WriteFiles writes the client certificate set into dir under the names the
// QMC export uses (client.pem, client_key.pem, root.pem and, for the Windows
// format, client.pfx protected by PFXPassword). Files holding a private key
// are written with mode 0600. dir is created if needed.
func (p *PKI) WriteFiles(dir string) (Files, error) {
	f := Files{
		ClientCert:  filepath.Join(dir, "client.pem"),
		ClientKey:   filepath.Join(dir, "client_key.pem"),
		Root:        filepath.Join(dir, "root.pem"),
		PFX:         filepath.Join(dir, "client.pfx"),
		PFXPassword: PFXPassword,
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Files{}, fmt.Errorf("create %s: %w", dir, err)
	}
	// LegacyDES (3DES, SHA-1 MAC) is what Windows certificate exports
	// produce and what every PKCS#12 reader accepts.
	pfx, err := pkcs12.LegacyDES.Encode(p.clientKey, p.clientCert, []*x509.Certificate{p.caCert}, PFXPassword)
	if err != nil {
		return Files{}, fmt.Errorf("encode client.pfx: %w", err)
	}
	writes := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{f.ClientCert, p.clientCertPEM, 0o644},
		{f.ClientKey, p.clientKeyPEM, 0o600},
		{f.Root, p.rootPEM, 0o644},
		{f.PFX, pfx, 0o600},
	}
	for _, w := range writes {
		if err := writeFile(w.path, w.data, w.mode); err != nil {
			return Files{}, err
		}
	}
	return f, nil
}

// writeFile writes data with exactly mode: os.WriteFile leaves the mode of
// an existing file alone, which could keep a key world-readable.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}
