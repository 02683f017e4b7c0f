package cloudoidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/qlikgate/qlikgate/qlik/cloud"
)

// TestIndependentRelyingParty uses zitadel's relying party package,
// unchanged: discovery, the code flow with PKCE and nonce, ID token
// validation (signature from the JWKS, iss, aud, nonce, at_hash) and
// userinfo. The browser's part (the entry and the sign-in) is ParseEntry
// and Login, which is what the web layer calls.
func TestIndependentRelyingParty(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const nonce = "the-nonce-0123456789"
	party, err := rp.NewRelyingPartyOIDC(ctx, f.t.Issuer(), "qlik-cloud", testSecret, testCallback,
		[]string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail},
		rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return nonce })))
	if err != nil {
		t.Fatal(err)
	}
	verifier := "a-code-verifier-of-enough-length-0123456789abcdef"
	authURL := rp.AuthURL("state-9", party, rp.WithCodeChallenge(oidc.NewSHACodeChallenge(verifier)), rp.AuthURLOpt(rp.WithURLParam("nonce", nonce)))
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.t.Issuer()+"/" {
		t.Fatalf("authorization endpoint %q, want the entry %q", got, f.t.Issuer()+"/")
	}
	code := f.code(t, u.Query())

	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, party, rp.WithCodeVerifier(verifier))
	if err != nil {
		t.Fatal(err)
	}
	c := tokens.IDTokenClaims
	if c.Subject != "alice" || c.Nonce != nonce || c.Email != "alice@example.org" || !bool(c.EmailVerified) || c.Name != "Alice" {
		t.Errorf("ID token claims = %+v", c)
	}
	if g, _ := c.Claims["groups"].([]any); len(g) != 1 || g[0] != "Sales" {
		t.Errorf("ID token groups = %#v", c.Claims["groups"])
	}
	info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, tokens.TokenType, c.Subject, party)
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != "alice" || info.Email != "alice@example.org" || !bool(info.EmailVerified) {
		t.Errorf("userinfo = %+v", info)
	}
	raw, _ := json.Marshal(info)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m["email_verified"] != true {
		t.Errorf("email_verified is %#v, want the boolean true", m["email_verified"])
	}
}

func TestDiscoveryAndKeyRotation(t *testing.T) {
	priv, _, err := cloud.GenerateKey(cloud.RS256)
	if err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(t.TempDir(), "next.pem")
	if err := os.WriteFile(second, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.SigningKeyFiles = append(c.SigningKeyFiles, second) })
	var doc map[string]any
	fetchJSON(t, f.t.Issuer()+"/.well-known/openid-configuration", &doc)
	if doc["issuer"] != f.t.Issuer() || doc["authorization_endpoint"] != f.t.Issuer()+"/" {
		t.Errorf("discovery = %v", doc)
	}
	for _, k := range []string{"token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"} {
		if s, _ := doc[k].(string); s == "" {
			t.Errorf("discovery lacks %s", k)
		}
	}
	if algs, _ := doc["id_token_signing_alg_values_supported"].([]any); !slices.Equal(algs, []any{"RS256"}) {
		t.Errorf("signing algs = %v", algs)
	}
	auth, _ := doc["token_endpoint_auth_methods_supported"].([]any)
	if !slices.Contains(auth, any("client_secret_basic")) || !slices.Contains(auth, any("client_secret_post")) {
		t.Errorf("token auth methods = %v", auth)
	}
	var jwks struct {
		Keys []struct {
			Kid, Alg, Kty, Use string
			D                  string `json:"d"`
		} `json:"keys"`
	}
	fetchJSON(t, doc["jwks_uri"].(string), &jwks)
	if len(jwks.Keys) != 2 || jwks.Keys[0].Kid != f.t.keys[0].id || jwks.Keys[1].Kid != f.t.keys[1].id {
		t.Fatalf("jwks = %+v", jwks)
	}
	for _, k := range jwks.Keys {
		if k.D != "" || k.Kty != "RSA" || k.Alg != "RS256" {
			t.Errorf("published key %+v", k)
		}
	}
}

func fetchJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
