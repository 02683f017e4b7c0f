package cloudoidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloud"
)

const (
	testTenant   = "https://acme.eu.qlikcloud.com"
	testCallback = testTenant + "/login/callback"
	testSecret   = "0123456789abcdef0123456789abcdef-secret"
)

var alice = qlik.User{Directory: "CORP", UserID: "alice", Name: "Alice", Email: "alice@example.org", Groups: []string{"Sales"}}

type fixture struct {
	t    *Target
	srv  *httptest.Server
	logs *testlog.Buffer
	now  time.Time
}

// newFixture opens a target whose endpoints are served at srv.URL/t/c.
func newFixture(tb testing.TB, mutate ...func(*Config)) *fixture {
	tb.Helper()
	return newSharedFixture(tb, qlik.Shared{}, mutate...)
}

// newSharedFixture is newFixture with the instances' shared state.
func newSharedFixture(tb testing.TB, shared qlik.Shared, mutate ...func(*Config)) *fixture {
	tb.Helper()
	key := writeKey(tb)
	cfg := NewConfig()
	cfg.TenantURL, cfg.ClientID, cfg.ClientSecret = testTenant, "qlik-cloud", testSecret
	cfg.SigningKeyFiles = []string{key}
	cfg.PostLogoutRedirectURIs = []string{testTenant + "/"}
	for _, m := range mutate {
		m(cfg)
	}
	f := &fixture{logs: &testlog.Buffer{}, now: time.Now()}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	tb.Cleanup(f.srv.Close)
	tgt, err := Open(context.Background(), qlik.Common{ID: "c"}, cfg, qlik.Env{PublicURL: f.srv.URL + "/", Log: slog.New(slog.NewTextHandler(io.MultiWriter(f.logs), nil)), Shared: shared})
	if err != nil {
		tb.Fatal(err)
	}
	tgt.now = func() time.Time { return f.now }
	f.t = tgt
	tb.Cleanup(func() { _ = tgt.Close() })
	mux.Handle("/t/c/", http.StripPrefix("/t/c", tgt.Endpoints()))
	return f
}

var keyCache struct {
	pem []byte
}

func writeKey(tb testing.TB) string {
	tb.Helper()
	if keyCache.pem == nil {
		priv, _, err := cloud.GenerateKey(cloud.RS256)
		if err != nil {
			tb.Fatal(err)
		}
		keyCache.pem = priv
	}
	p := filepath.Join(tb.TempDir(), "k.pem")
	if err := os.WriteFile(p, keyCache.pem, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func authorizeQuery(mod ...func(url.Values)) url.Values {
	q := url.Values{"client_id": {"qlik-cloud"}, "redirect_uri": {testCallback}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"st-1"}, "nonce": {"n-1"}}
	for _, m := range mod {
		m(q)
	}
	return q
}

// code runs ParseEntry and Login and returns the code sent to the tenant.
func (f *fixture) code(tb testing.TB, q url.Values) string {
	tb.Helper()
	e, err := f.t.ParseEntry(q)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := f.t.Login(context.Background(), alice, e)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(h.Redirect)
	if err != nil || !strings.HasPrefix(h.Redirect, testCallback+"?") {
		tb.Fatalf("redirect %q", h.Redirect)
	}
	if u.Query().Get("state") != q.Get("state") {
		tb.Fatalf("state %q, want %q", u.Query().Get("state"), q.Get("state"))
	}
	return u.Query().Get("code")
}

// token posts to the token endpoint; basic selects client_secret_basic.
func (f *fixture) token(tb testing.TB, form url.Values, basic bool, secret string) (int, map[string]any) {
	tb.Helper()
	if !basic {
		form.Set("client_id", "qlik-cloud")
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/t/c/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("qlik-cloud", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testCallback}}
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
