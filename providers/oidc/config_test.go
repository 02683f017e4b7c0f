package oidc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
)

func validConfig() Config {
	c := *NewConfig()
	c.Issuer = "https://login.example.com/tenant/v2.0"
	c.ClientID = "qlikgate"
	c.ClientSecret = "s3cret"
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // substrings of the error, each naming its key; none: valid
	}{
		{name: "defaults with issuer and client are valid"},
		{name: "http on loopback", change: func(c *Config) { c.Issuer = "http://127.0.0.1:5556/dex" }},
		{name: "http on localhost", change: func(c *Config) { c.Issuer = "http://localhost:8080/" }},
		{name: "public client", change: func(c *Config) { c.ClientSecret = ""; c.PublicClient = true }},
		{name: "Auth0 namespaced claim", change: func(c *Config) { c.GroupsClaim = "https://example.com/roles" }},
		{name: "everything set", change: func(c *Config) {
			c.Prompt, c.DomainHint, c.CAFile = "login consent", "corp.example", "ca.pem"
			c.AuthParams = map[string]string{"hd": "example.com"}
			c.AllowedGroups, c.AllowedDomains = []string{"Qlik Users"}, []string{"Example.com", "corp.example.org"}
			c.Attributes = map[string]string{"Department": "department", "Roles": "resource_access.qlik.roles"}
			c.RequireVerifiedEmail, c.UserIDLowercase, c.UserInfo = true, true, UserInfoAlways
			c.TokenAuthMethod, c.AssumeEmailVerified = "client_secret_post", true
		}},
		{name: "nothing", change: func(c *Config) { *c = Config{} }, want: []string{
			"issuer: required", "client_id: required", "client_secret: required", "timeout: ", "user_id_claim: required",
			`userinfo: ""`,
		}},
		{name: "http issuer elsewhere", change: func(c *Config) { c.Issuer = "http://login.example.com/" }, want: []string{"issuer: ", "https"}},
		{name: "relative issuer", change: func(c *Config) { c.Issuer = "login.example.com" }, want: []string{"issuer: "}},
		{name: "issuer with a fragment", change: func(c *Config) { c.Issuer = "https://login.example.com/#x" }, want: []string{"issuer: ", "fragment"}},
		{name: "issuer with a query", change: func(c *Config) { c.Issuer = "https://login.example.com/?a=b" }, want: []string{"issuer: "}},
		{name: "secret with public client", change: func(c *Config) { c.PublicClient = true }, want: []string{"client_secret: must be empty"}},
		{name: "bad scopes", change: func(c *Config) { c.Scopes = []string{"openid", "a b", ""} }, want: []string{"scopes[1]: ", "scopes[2]: "}},
		{name: "bad token auth method", change: func(c *Config) { c.TokenAuthMethod = "private_key_jwt" }, want: []string{"token_endpoint_auth_method: "}},
		{name: "bad prompt", change: func(c *Config) { c.Prompt = "always" }, want: []string{"prompt: "}},
		{name: "prompt none combined", change: func(c *Config) { c.Prompt = "none login" }, want: []string{"prompt: ", "none cannot be combined"}},
		{name: "domain_hint with space", change: func(c *Config) { c.DomainHint = "a b" }, want: []string{"domain_hint: "}},
		{name: "auth_params overriding the flow", change: func(c *Config) {
			c.AuthParams = map[string]string{"state": "x", "code_challenge": "y", "ok": "a\nb"}
		}, want: []string{"auth_params.state: ", "auth_params.code_challenge: ", "auth_params.ok: "}},
		{name: "timeout too long", change: func(c *Config) { c.Timeout = time.Hour }, want: []string{"timeout: "}},
		{name: "bad claim paths", change: func(c *Config) {
			c.UserIDClaim, c.NameClaim, c.EmailClaim, c.GroupsClaim = "a..b", "has space", ".x", "x."
		}, want: []string{"user_id_claim: ", "name_claim: ", "email_claim: ", "groups_claim: "}},
		{name: "bad userinfo", change: func(c *Config) { c.UserInfo = "sometimes" }, want: []string{`userinfo: "sometimes"`}},
		{name: "blank allowed group", change: func(c *Config) { c.AllowedGroups = []string{"ok", " "} }, want: []string{"allowed_groups[1]: "}},
		{name: "allowed_groups without groups_claim", change: func(c *Config) {
			c.AllowedGroups, c.GroupsClaim = []string{"a"}, ""
		}, want: []string{"allowed_groups: needs groups_claim"}},
		{name: "bad domains", change: func(c *Config) {
			c.AllowedDomains = []string{"@example.com", "*.example.com", "localhost", "ok.example"}
		}, want: []string{"allowed_domains[0]: ", "allowed_domains[1]: ", "allowed_domains[2]: "}},
		{name: "e-mail gates without email_claim", change: func(c *Config) {
			c.AllowedDomains, c.RequireVerifiedEmail, c.EmailClaim = []string{"example.com"}, true, ""
		}, want: []string{"allowed_domains: needs email_claim", "require_verified_email: needs email_claim"}},
		{name: "bad attributes", change: func(c *Config) {
			c.Attributes = map[string]string{"": "x", "Dept": "a..b"}
		}, want: []string{`attributes: ""`, "attributes.Dept: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			if tt.change != nil {
				tt.change(&c)
			}
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted it, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not mention %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if key, _, _ := strings.Cut(line, ":"); strings.ContainsAny(key, " ") {
					t.Errorf("error line %q does not start with its key", line)
				}
			}
		})
	}
}

func TestKind(t *testing.T) {
	cfg := Kind.NewConfig().(*Config)
	if cfg.UserIDClaim != "sub" || cfg.GroupsClaim != "groups" || cfg.UserInfo != UserInfoAuto || cfg.Timeout != DefaultTimeout {
		t.Errorf("defaults = %+v", cfg)
	}
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret = "http://127.0.0.1:9/", "c", "s"
	impl, err := Kind.Open(context.Background(), providers.Common{ID: "idp"}, cfg, providers.Env{CallbackURL: callbackURL})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := impl.(providers.RedirectProvider)
	if !ok {
		t.Fatalf("%T is not a RedirectProvider", impl)
	}
	if err := p.(*Provider).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Kind.Open(context.Background(), providers.Common{ID: "idp"}, cfg, providers.Env{}); err == nil {
		t.Error("Open without a callback URL succeeded")
	}
	bad := validConfig()
	bad.ClientID = ""
	if _, err := Kind.Open(context.Background(), providers.Common{ID: "idp"}, &bad, providers.Env{CallbackURL: callbackURL}); err == nil {
		t.Error("Open with an invalid config succeeded")
	}
}
