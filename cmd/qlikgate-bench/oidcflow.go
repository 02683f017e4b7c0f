package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The cloud-oidc target of the generated configuration: qlikgate as the
// OpenID provider of a Qlik Cloud tenant. The tenant is never called
// during the flow (it is the relying party), so its address needs no
// server; the tool plays its part (the token and userinfo calls).
const (
	flowOIDC       = "oidc" // a signed-in browser's code flow: authorize, code, token, userinfo
	oidcTargetID   = "cloud"
	oidcClientID   = "bench-tenant"
	oidcSecret     = "qlikgate-bench-client-secret-0123456789"
	oidcTenant     = "https://tenant.bench.invalid"
	oidcKeyFile    = "oidc_signing.pem"
	oidcKeyBits    = 2048
	oidcTokenLimit = 1 << 16
)

// oidcTargetConfig is the target block appended to the configuration.
func oidcTargetConfig(dir string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, oidcKeyBits)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, oidcKeyFile)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", fmt.Errorf("writing the OpenID signing key: %w", err)
	}
	return fmt.Sprintf(`  - id: %s
    kind: cloud-oidc
    cloud_oidc:
      tenant_url: '%s'
      client_id: '%s'
      client_secret: '%s'
      signing_key_files: ['%s']
`, oidcTargetID, oidcTenant, oidcClientID, oidcSecret, path), nil
}

// oidcFlow: each virtual user signs in once (not measured), then, as a
// tenant whose session ended sends its browser back, runs the whole code
// flow: GET the authorization endpoint with its qlikgate session (302 with
// a code), then, as the tenant's server, POST the token endpoint
// (client_secret_basic, PKCE S256) and GET userinfo with the access token.
// Like the SSO flow, every iteration presents the first login's cookie and
// no redirect-loop counter.
func oidcFlow(e entrance, who func(i int) signIn) flowSpec {
	return flowSpec{name: flowOIDC, prepare: func(ctx context.Context, i int) (*virtualUser, error) {
		s := who(i)
		b, _, base, signedIn, err := signedInBrowser(ctx, e, s)
		if err != nil {
			return nil, err
		}
		noCounter := &http.Cookie{Name: loopCookie, Path: base, MaxAge: -1}
		// The tenant's server: its own connections, no cookies.
		tenant := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}, Timeout: 30 * time.Second}
		verifier := rand.Text() + rand.Text()
		sum := sha256.Sum256([]byte(verifier))
		challenge := base64.RawURLEncoding.EncodeToString(sum[:])
		issuer := e.moduleURL + "t/" + oidcTargetID
		callback := oidcTenant + "/login/callback"
		return &virtualUser{
			close: func() { b.close(); tenant.CloseIdleConnections() },
			iterate: func(ctx context.Context) (time.Duration, error) {
				if err := b.setCookie(e.moduleURL, signedIn); err != nil {
					return 0, err
				}
				if err := b.setCookie(e.moduleURL, noCounter); err != nil {
					return 0, err
				}
				state, nonce := rand.Text(), rand.Text()
				q := url.Values{"client_id": {oidcClientID}, "redirect_uri": {callback}, "response_type": {"code"},
					"scope": {"openid profile email"}, "state": {state}, "nonce": {nonce},
					"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/?"+q.Encode(), nil)
				if err != nil {
					return 0, err
				}
				p, module, err := b.do(req)
				if err != nil {
					return module, err
				}
				loc, err := url.Parse(p.Header.Get("Location"))
				if p.Status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), callback+"?") || loc.Query().Get("state") != state {
					return module, fmt.Errorf("authorize: %d, Location %q", p.Status, p.Header.Get("Location"))
				}
				start := time.Now()
				tok, err := oidcToken(ctx, tenant, issuer, loc.Query().Get("code"), callback, verifier)
				if err == nil {
					err = oidcUserinfo(ctx, tenant, issuer, tok, s.name)
				}
				return module + time.Since(start), err
			},
		}, nil
	}}
}

func oidcToken(ctx context.Context, c *http.Client, issuer, code, callback, verifier string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(oidcClientID, oidcSecret)
	var out struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := oidcJSON(c, req, &out); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if out.AccessToken == "" || strings.Count(out.IDToken, ".") != 2 {
		return "", fmt.Errorf("token: no access token or ID token")
	}
	return out.AccessToken, nil
}

func oidcUserinfo(ctx context.Context, c *http.Client, issuer, token, user string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/userinfo", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	var out struct {
		Sub string `json:"sub"`
	}
	if err := oidcJSON(c, req, &out); err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	if out.Sub != user {
		return fmt.Errorf("userinfo: sub %q, want %q", out.Sub, user)
	}
	return nil
}

func oidcJSON(c *http.Client, req *http.Request, v any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, oidcTokenLimit))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}
