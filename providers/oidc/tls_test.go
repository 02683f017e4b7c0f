package oidc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
)

// TestCAFile runs the OP over https with a private CA.
func TestCAFile(t *testing.T) {
	op := oidctest.StartTLS(t)
	otherCA := oidctest.StartTLS(t).CAFile()

	t.Run("trusted through ca_file", func(t *testing.T) {
		cfg := newClient(t, op, nil)
		cfg.CAFile = op.CAFile()
		p := openProvider(t, cfg)
		f := newFlow()
		authURL, err := p.AuthURL(context.Background(), f.state, f.nonce, f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		cb := op.Login(t, op.Client(), authURL, "alice", "alicepass")
		id, err := p.Callback(context.Background(), cb.Query(), f.nonce, f.verifier)
		if err != nil || id.UserID != "alice" || len(id.Groups) != 2 {
			t.Fatalf("Callback: %+v, %v", id, err)
		}
	})
	for _, tc := range []struct{ name, caFile string }{
		{"no ca_file: the system roots do not know the CA", ""},
		{"ca_file of another CA", otherCA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newClient(t, op, nil)
			cfg.CAFile = tc.caFile
			p := openProvider(t, cfg)
			f := newFlow()
			_, err := p.AuthURL(context.Background(), f.state, f.nonce, f.verifier)
			if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("err = %v, want ErrUnavailable caused by the certificate", err)
			}
		})
	}
	t.Run("unreadable or empty ca_file fails Open", func(t *testing.T) {
		notPEM := filepath.Join(t.TempDir(), "not.pem")
		if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{filepath.Join(t.TempDir(), "missing.pem"), notPEM} {
			cfg := newClient(t, op, nil)
			cfg.CAFile = file
			_, err := Open(context.Background(), providers.Common{ID: "idp"}, &cfg, providers.Env{CallbackURL: callbackURL})
			if err == nil || !strings.HasPrefix(err.Error(), "ca_file: ") {
				t.Errorf("Open with ca_file %s: err = %v, want a ca_file error", filepath.Base(file), err)
			}
		}
	})
}
