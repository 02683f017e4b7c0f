package cloud

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// testKeyPair is a generated key in both PEM forms.
type testKeyPair struct{ private, public []byte }

// Keys are generated once per algorithm: RSA generation is slow under -race.
var (
	rsaPair = sync.OnceValues(func() (testKeyPair, error) { return genPair(RS256) })
	ecPair  = sync.OnceValues(func() (testKeyPair, error) { return genPair(ES256) })
)

func genPair(alg string) (testKeyPair, error) {
	priv, pub, err := GenerateKey(alg)
	return testKeyPair{priv, pub}, err
}

func keyPair(t testing.TB, alg string) testKeyPair {
	t.Helper()
	gen := rsaPair
	if alg == ES256 {
		gen = ecPair
	}
	p, err := gen()
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	return p
}

// writeKey writes a private key PEM with mode 0600 and returns its path.
func writeKey(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwt_private.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testConfig is a valid configuration for tenant with a key of alg.
func testConfig(t testing.TB, tenant, alg string) *Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.TenantURL = tenant
	cfg.WebIntegrationID = "wi-7Hq2"
	cfg.Issuer = "qlikgate.test"
	cfg.KeyID = "qlikgate-1"
	cfg.PrivateKeyFile = writeKey(t, keyPair(t, alg).private)
	return cfg
}

// openTarget opens a target with a fixed clock.
func openTarget(t testing.TB, cfg *Config, now time.Time) *JWTTarget {
	t.Helper()
	tg, err := Open(context.Background(), qlik.Common{ID: "cloud", Kind: "cloud"}, cfg, qlik.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tg.now = func() time.Time { return now }
	return tg
}

var testUser = qlik.User{
	Directory: "CORP",
	UserID:    "jdoe",
	Name:      "Jane Doe",
	Email:     "jane@example.com",
	Groups:    []string{"Sales", "EU"},
}

// pageData returns the hand-off page's data, failing if Login did not
// return a page.
func pageData(t *testing.T, h qlik.Handoff) map[string]any {
	t.Helper()
	if h.Page == nil || h.Redirect != "" || h.Page.Template != PageTemplate {
		t.Fatalf("handoff %+v is not the %q page", h, PageTemplate)
	}
	return h.Page.Data
}

func str(t *testing.T, data map[string]any, key string) string {
	t.Helper()
	s, ok := data[key].(string)
	if !ok {
		t.Fatalf("page data %q is %T, want string", key, data[key])
	}
	return s
}

func parsePublicPEMForTest(data []byte) (any, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParsePKIXPublicKey(b.Bytes)
}
