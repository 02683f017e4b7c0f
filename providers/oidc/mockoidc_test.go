package oidc

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qlikgate/qlikgate/providers"
)

// TestMockOIDC runs the provider against a second, independent OP
// implementation, which puts groups and e-mail in the ID token and has no
// login page, and lets a test make its token endpoint fail.
func TestMockOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	mc := m.Config()
	cfg := *NewConfig()
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret = m.Issuer(), mc.ClientID, mc.ClientSecret
	cfg.Scopes = []string{"openid", "profile", "email", "groups"}
	cfg.UserIDClaim = "preferred_username"
	cfg.UserInfo = UserInfoNever
	cfg.TokenAuthMethod = "client_secret_post" // mockoidc wants client_id in the body
	p := openProvider(t, cfg)

	// mockoidc redirects straight back with a code: no login page.
	authorize := func(t *testing.T, f flow) *http.Response {
		t.Helper()
		authURL, err := p.AuthURL(context.Background(), f.state, f.nonce, f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	t.Run("groups and e-mail from the ID token", func(t *testing.T) {
		m.QueueUser(&mockoidc.MockUser{Subject: "alice-sub", Email: "alice@example.org", EmailVerified: true,
			PreferredUsername: "alice", Groups: []string{"admins", "users"}})
		f := newFlow()
		loc, err := authorize(t, f).Location()
		if err != nil {
			t.Fatal(err)
		}
		id, err := p.Callback(context.Background(), loc.Query(), f.nonce, f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		if id.UserID != "alice" || id.Subject != m.Issuer()+"#alice-sub" || id.Email != "alice@example.org" ||
			!id.EmailVerified || !slices.Equal(id.Groups, []string{"admins", "users"}) {
			t.Errorf("identity = %+v", id)
		}
	})
	t.Run("token endpoint failing with 500 is an outage", func(t *testing.T) {
		f := newFlow()
		loc, err := authorize(t, f).Location()
		if err != nil {
			t.Fatal(err)
		}
		m.QueueError(&mockoidc.ServerError{Code: http.StatusInternalServerError, Error: "server_error", Description: "down"})
		_, err = p.Callback(context.Background(), loc.Query(), f.nonce, f.verifier)
		wantFailure(t, err, "issuer_unavailable", providers.ErrUnavailable)
	})
}
