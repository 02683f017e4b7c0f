package oidc

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
)

// TestCallbackIdentity signs real users in at a real OP and checks the
// identity, claims mapping and gates.
func TestCallbackIdentity(t *testing.T) {
	op := oidctest.Start(t)
	op.AddUser(oidctest.User{ID: "u-dave", Username: "Dave.Smith@Example.org", Password: "davepass",
		Email: "Dave.Smith@Example.org", EmailVerified: true})
	op.AddUser(oidctest.User{ID: "u-eve", Username: `CORP\eve`, Password: "evepass"})
	op.AddUser(oidctest.User{ID: "u-frank", Username: "frank", Password: "frankpass",
		Claims: map[string]any{"employee_id": 4711, "groups": []any{"users", 42, "", "users", map[string]any{"x": 1}}}})

	inIDToken := func(c *oidctest.Client) { c.ClaimsInIDToken = true }
	tests := []struct {
		name      string
		client    func(*oidctest.Client)
		config    func(*Config)
		user, pw  string
		want      providers.Identity // compared when wantReason is empty
		wantAttrs map[string][]string
		// refusals
		wantReason string
		wantErr    error
		wantText   string
	}{
		{
			name: "happy path, profile and e-mail from userinfo (auto)", user: "alice", pw: "alicepass",
			want: providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
				EmailVerified: true, Groups: []string{"admins", "users"}},
		},
		{
			name: "everything in the ID token, userinfo never", client: inIDToken, user: "alice", pw: "alicepass",
			config: func(c *Config) { c.UserInfo = UserInfoNever },
			want: providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
				EmailVerified: true, Groups: []string{"admins", "users"}},
		},
		{
			name: "userinfo never leaves out what only userinfo has", user: "alice", pw: "alicepass",
			config: func(c *Config) { c.UserInfo = UserInfoNever; c.UserIDClaim = "sub" },
			want:   providers.Identity{Subject: "u-alice", UserID: "u-alice", Groups: []string{"admins", "users"}},
		},
		{
			name: "userinfo always", client: inIDToken, user: "carol", pw: "carolpass",
			config: func(c *Config) { c.UserInfo = UserInfoAlways },
			want: providers.Identity{Subject: "u-carol", UserID: "carol", Name: "Carol Example", Email: "carol@example.org",
				Groups: []string{"auditors"}},
		},
		{
			name: "nested groups claim", user: "alice", pw: "alicepass", client: inIDToken,
			config: func(c *Config) { c.GroupsClaim = "realm_access.roles" },
			want: providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
				EmailVerified: true, Groups: []string{"analyst", "viewer"}},
		},
		{
			name: "groups as a single string", user: "bob", pw: "bobpass", client: inIDToken,
			want: providers.Identity{Subject: "u-bob", UserID: "bob", Name: "Bob Example", Email: "bob@example.net",
				EmailVerified: true, Groups: []string{"users"}},
		},
		{
			name: "groups missing from the ID token come from userinfo", user: "carol", pw: "carolpass", client: inIDToken,
			want: providers.Identity{Subject: "u-carol", UserID: "carol", Name: "Carol Example", Email: "carol@example.org",
				Groups: []string{"auditors"}},
		},
		{
			name: "groups missing everywhere", user: "Dave.Smith@Example.org", pw: "davepass", client: inIDToken,
			config: func(c *Config) { c.UserIDClaim = "sub" },
			want:   providers.Identity{Subject: "u-dave", UserID: "u-dave", Name: "", Email: "Dave.Smith@Example.org", EmailVerified: true},
		},
		{
			name: "groups claim disabled", user: "alice", pw: "alicepass", client: inIDToken,
			config: func(c *Config) { c.GroupsClaim = "" },
			want:   providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org", EmailVerified: true},
		},
		{
			name: "odd group values are skipped, numbers kept", user: "frank", pw: "frankpass",
			config: func(c *Config) { c.UserIDClaim = "employee_id" },
			want:   providers.Identity{Subject: "u-frank", UserID: "4711", Name: "", Groups: []string{"users", "42"}},
		},
		{
			name: "member of allowed_groups", user: "alice", pw: "alicepass",
			config: func(c *Config) { c.AllowedGroups = []string{"admins"} },
			want: providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
				EmailVerified: true, Groups: []string{"admins", "users"}},
		},
		{
			name: "not in allowed_groups", user: "bob", pw: "bobpass",
			config:     func(c *Config) { c.AllowedGroups = []string{"admins"} },
			wantReason: "group_not_allowed", wantErr: ErrNotAllowed, wantText: textNotAllowed,
		},
		{
			name: "no groups at all and allowed_groups", user: "carol", pw: "carolpass",
			config: func(c *Config) {
				c.AllowedGroups, c.UserInfo, c.UserIDClaim = []string{"admins"}, UserInfoNever, "sub"
			},
			wantReason: "group_not_allowed", wantErr: ErrNotAllowed, wantText: textNotAllowed,
		},
		{
			name: "allowed domain, matched case-insensitively", user: "alice", pw: "alicepass",
			config: func(c *Config) { c.AllowedDomains = []string{"Example.ORG"} },
			want: providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
				EmailVerified: true, Groups: []string{"admins", "users"}},
		},
		{
			name: "domain not allowed", user: "bob", pw: "bobpass",
			config:     func(c *Config) { c.AllowedDomains = []string{"example.org"} },
			wantReason: "domain_not_allowed", wantErr: ErrNotAllowed, wantText: textNotAllowed,
		},
		{
			name: "allowed domain but e-mail not verified", user: "carol", pw: "carolpass",
			config:     func(c *Config) { c.AllowedDomains = []string{"example.org"} },
			wantReason: "domain_not_allowed", wantErr: ErrNotAllowed, wantText: textNotAllowed,
		},
		{
			name: "require_verified_email refuses an unverified e-mail", user: "carol", pw: "carolpass",
			config:     func(c *Config) { c.RequireVerifiedEmail = true },
			wantReason: "email_not_verified", wantErr: ErrNotAllowed, wantText: textEmailNotVerified,
		},
		{
			name: "user id from an unverified e-mail is refused", user: "carol", pw: "carolpass",
			config:     func(c *Config) { c.UserIDClaim = "email" },
			wantReason: "email_not_verified", wantErr: ErrNotAllowed, wantText: textEmailNotVerified,
		},
		{
			name: "extra claims become attributes", user: "alice", pw: "alicepass", client: inIDToken,
			config: func(c *Config) {
				c.Attributes = map[string]string{"Department": "department", "Role": "realm_access.roles", "Missing": "nope"}
			},
			want: providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
				EmailVerified: true, Groups: []string{"admins", "users"}},
			wantAttrs: map[string][]string{"Department": {"Sales"}, "Role": {"analyst", "viewer"}},
		},
		{
			name: "user_id_lowercase", user: "Dave.Smith@Example.org", pw: "davepass",
			config: func(c *Config) { c.UserIDLowercase = true },
			want: providers.Identity{Subject: "u-dave", UserID: "dave.smith@example.org", Email: "Dave.Smith@Example.org",
				EmailVerified: true},
		},
		{
			name: "user id keeps its case by default", user: "Dave.Smith@Example.org", pw: "davepass",
			want: providers.Identity{Subject: "u-dave", UserID: "Dave.Smith@Example.org", Email: "Dave.Smith@Example.org",
				EmailVerified: true},
		},
		{
			name: "user id from sub", user: "alice", pw: "alicepass", client: inIDToken,
			config: func(c *Config) { c.UserIDClaim = "sub"; c.GroupsClaim = "" },
			want:   providers.Identity{Subject: "u-alice", UserID: "u-alice", Name: "Alice Example", Email: "alice@example.org", EmailVerified: true},
		},
		{
			name: "user_id_claim missing", user: "alice", pw: "alicepass",
			config:     func(c *Config) { c.UserIDClaim = "upn" },
			wantReason: "missing_user_id", wantErr: ErrClaims,
		},
		{
			name: "user id with a backslash", user: `CORP\eve`, pw: "evepass",
			wantReason: "invalid_user_id", wantErr: ErrClaims,
		},
		{
			name: "public client with PKCE only", user: "alice", pw: "alicepass",
			client: func(c *oidctest.Client) { c.Secret = "" },
			want: providers.Identity{Subject: "u-alice", UserID: "alice", Name: "Alice Example", Email: "alice@example.org",
				EmailVerified: true, Groups: []string{"admins", "users"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newClient(t, op, tt.client)
			if tt.config != nil {
				tt.config(&cfg)
			}
			id, err := signIn(t, op, openProvider(t, cfg), tt.user, tt.pw)
			if tt.wantReason != "" {
				f := wantFailure(t, err, tt.wantReason, tt.wantErr)
				if f.UserText != tt.wantText {
					t.Errorf("UserText = %q, want %q", f.UserText, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Callback: %v", err)
			}
			want := tt.want
			want.Subject = op.Issuer() + "#" + want.Subject
			if id.Subject != want.Subject || id.UserID != want.UserID || id.Name != want.Name || id.Email != want.Email ||
				id.EmailVerified != want.EmailVerified || !slices.Equal(id.Groups, want.Groups) {
				t.Errorf("identity =\n  %+v\nwant\n  %+v", id, want)
			}
			if len(id.Attributes) != len(tt.wantAttrs) {
				t.Errorf("attributes = %v, want %v", id.Attributes, tt.wantAttrs)
			}
			for k, v := range tt.wantAttrs {
				if !slices.Equal(id.Attributes[k], v) {
					t.Errorf("attribute %s = %v, want %v", k, id.Attributes[k], v)
				}
			}
		})
	}
}

// TestCallbackRefusals covers what must fail after a real login: a replayed
// code, a PKCE verifier or nonce that is not the flow's, a token for another
// audience, an expired token, a wrong client secret.
func TestCallbackRefusals(t *testing.T) {
	op := oidctest.Start(t)
	tests := []struct {
		name       string
		client     func(*oidctest.Client)
		config     func(*Config)
		callback   func(t *testing.T, p *Provider, q url.Values, f flow) error
		wantReason string
		wantErr    error
	}{
		{
			name: "replayed code",
			callback: func(t *testing.T, p *Provider, q url.Values, f flow) error {
				if _, err := p.Callback(context.Background(), q, f.nonce, f.verifier); err != nil {
					t.Fatalf("first use of the code: %v", err)
				}
				_, err := p.Callback(context.Background(), q, f.nonce, f.verifier)
				return err
			},
			wantReason: "code_exchange_failed", wantErr: ErrCodeExchange,
		},
		{
			name: "PKCE verifier of another flow (checked by the OP)",
			callback: func(t *testing.T, p *Provider, q url.Values, f flow) error {
				_, err := p.Callback(context.Background(), q, f.nonce, newFlow().verifier)
				return err
			},
			wantReason: "code_exchange_failed", wantErr: ErrCodeExchange,
		},
		{
			name: "nonce of another flow",
			callback: func(t *testing.T, p *Provider, q url.Values, f flow) error {
				_, err := p.Callback(context.Background(), q, newFlow().nonce, f.verifier)
				return err
			},
			wantReason: "nonce_mismatch", wantErr: ErrInvalidToken,
		},
		{
			name:       "ID token for another audience",
			client:     func(c *oidctest.Client) { c.IssueTokensTo = "another-app" },
			wantReason: "token_invalid", wantErr: ErrInvalidToken,
		},
		{
			name:       "expired ID token",
			client:     func(c *oidctest.Client) { c.IDTokenLifetime = -time.Minute },
			wantReason: "token_expired", wantErr: ErrInvalidToken,
		},
		{
			name:       "wrong client secret",
			config:     func(c *Config) { c.ClientSecret = "not-the-secret" },
			wantReason: "code_exchange_failed", wantErr: ErrCodeExchange,
		},
		{
			name: "callback without code",
			callback: func(t *testing.T, p *Provider, q url.Values, f flow) error {
				q.Del("code")
				_, err := p.Callback(context.Background(), q, f.nonce, f.verifier)
				return err
			},
			wantReason: "missing_code", wantErr: ErrCodeExchange,
		},
		{
			name: "callback naming another issuer (RFC 9207)",
			callback: func(t *testing.T, p *Provider, q url.Values, f flow) error {
				q.Set("iss", "https://evil.example/")
				_, err := p.Callback(context.Background(), q, f.nonce, f.verifier)
				return err
			},
			wantReason: "issuer_mismatch", wantErr: ErrIssuerError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newClient(t, op, tt.client)
			if tt.config != nil {
				tt.config(&cfg)
			}
			p := openProvider(t, cfg)
			q, f := login(t, op, p, "alice", "alicepass")
			var err error
			if tt.callback != nil {
				err = tt.callback(t, p, q, f)
			} else {
				_, err = p.Callback(context.Background(), q, f.nonce, f.verifier)
			}
			wantFailure(t, err, tt.wantReason, tt.wantErr)
			if errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrBadCredentials) {
				t.Errorf("err = %v must not look like an outage or a wrong password", err)
			}
			for _, secret := range []string{q.Get("code"), f.verifier, cfg.ClientSecret} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error text %q contains a code, verifier or secret", err)
				}
			}
		})
	}
}

// TestCallbackIssuerErrors covers the issuer answering the authorization
// request with an error.
func TestCallbackIssuerErrors(t *testing.T) {
	op := oidctest.Start(t)
	p := openProvider(t, newClient(t, op, nil))
	f := newFlow()

	t.Run("access_denied", func(t *testing.T) {
		q := url.Values{"error": {"access_denied"}, "error_description": {"The user cancelled\r\nforged log line"}, "state": {f.state}}
		_, err := p.Callback(context.Background(), q, f.nonce, f.verifier)
		fl := wantFailure(t, err, "access_denied", ErrIssuerError)
		if fl.UserText != textDenied {
			t.Errorf("UserText = %q", fl.UserText)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q carries a raw newline from the browser", err)
		}
	})
	t.Run("login_required from the OP for prompt=none", func(t *testing.T) {
		authURL, err := p.AuthURLWithHints(context.Background(), f.state, f.nonce, f.verifier, url.Values{"prompt": {"none"}})
		if err != nil {
			t.Fatal(err)
		}
		cb := op.Login(t, nil, authURL, "", "")
		_, err = p.Callback(context.Background(), cb.Query(), f.nonce, f.verifier)
		fl := wantFailure(t, err, "issuer_error", ErrIssuerError)
		if fl.UserText != "" || !strings.Contains(err.Error(), "login_required") {
			t.Errorf("failure = %+v", fl)
		}
	})
	t.Run("temporarily_unavailable", func(t *testing.T) {
		q := url.Values{"error": {"temporarily_unavailable"}}
		_, err := p.Callback(context.Background(), q, f.nonce, f.verifier)
		wantFailure(t, err, "issuer_unavailable", providers.ErrUnavailable)
	})
}
