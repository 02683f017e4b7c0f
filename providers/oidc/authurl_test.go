package oidc

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
)

func TestAuthURL(t *testing.T) {
	op := oidctest.Start(t)
	cfg := newClient(t, op, nil)
	cfg.Scopes = []string{"email", "profile", "email"}
	cfg.Prompt = "select_account"
	cfg.DomainHint = "corp.example"
	cfg.AuthParams = map[string]string{"hd": "example.org"}
	p := openProvider(t, cfg)
	f := newFlow()

	tests := []struct {
		name  string
		hints url.Values
		want  map[string]string // "" means absent
	}{
		{
			name: "no hints",
			want: map[string]string{
				"response_type": "code", "client_id": cfg.ClientID, "redirect_uri": callbackURL,
				"scope": "openid email profile", "state": f.state, "nonce": f.nonce,
				"code_challenge": oauth2.S256ChallengeFromVerifier(f.verifier), "code_challenge_method": "S256",
				"prompt": "select_account", "domain_hint": "corp.example", "hd": "example.org", "login_hint": "",
			},
		},
		{
			name:  "login_hint and prompt from the login page",
			hints: url.Values{"login_hint": {"alice@example.org"}, "prompt": {"login"}},
			want:  map[string]string{"login_hint": "alice@example.org", "prompt": "login"},
		},
		{
			name: "unacceptable hints are ignored",
			hints: url.Values{"login_hint": {"alice\r\nX-Injected: 1"}, "prompt": {"none login"},
				"client_id": {"evil"}, "redirect_uri": {"https://evil.example/"}, "scope": {"openid offline_access"}},
			want: map[string]string{"login_hint": "", "prompt": "select_account", "client_id": cfg.ClientID,
				"redirect_uri": callbackURL, "scope": "openid email profile"},
		},
		{
			name:  "over-long login_hint is ignored",
			hints: url.Values{"login_hint": {strings.Repeat("a", 257)}},
			want:  map[string]string{"login_hint": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := p.AuthURLWithHints(context.Background(), f.state, f.nonce, f.verifier, tt.hints)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(raw, op.Issuer()) {
				t.Errorf("AuthURL %q is not at the issuer (discovery)", raw)
			}
			q := u.Query()
			for k, v := range tt.want {
				if q.Get(k) != v || (v == "" && q.Has(k)) {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			if strings.Contains(raw, f.verifier) {
				t.Error("the PKCE verifier itself is in the URL")
			}
		})
	}
}

func TestAuthURLRefusesBadFlowValues(t *testing.T) {
	op := oidctest.Start(t)
	p := openProvider(t, newClient(t, op, nil))
	good := newFlow()
	tests := []struct{ name, state, nonce, verifier string }{
		{"no state", "", good.nonce, good.verifier},
		{"no nonce", good.state, "", good.verifier},
		{"short verifier", good.state, good.nonce, "abc"},
		{"verifier with a space", good.state, good.nonce, strings.Repeat("a", 42) + " "},
		{"verifier too long", good.state, good.nonce, strings.Repeat("a", 129)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.AuthURL(context.Background(), tt.state, tt.nonce, tt.verifier)
			if err == nil || errors.Is(err, providers.ErrUnavailable) {
				t.Fatalf("err = %v, want a programming error", err)
			}
		})
	}
}
