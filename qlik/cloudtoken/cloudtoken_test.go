package cloudtoken

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		var c Config
		c.Defaults()
		c.OAuthClientID, c.OAuthClientSecret = "embed", "s"
		c.AdminClientID, c.AdminClientSecret = "admin", "s"
		return c
	}
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"complete", func(*Config) {}, ""},
		{"off", func(c *Config) { *c = Config{}; c.Defaults() }, ""},
		{"no admin", func(c *Config) { c.AdminClientID, c.AdminClientSecret = "", "" }, ""},
		{"secret missing", func(c *Config) { c.OAuthClientSecret = "" }, "oauth_client_secret: required"},
		{"secret alone", func(c *Config) { c.OAuthClientID = ""; c.AdminClientID, c.AdminClientSecret = "", "" }, "oauth_client_secret: set only with"},
		{"admin without embed", func(c *Config) { c.OAuthClientID, c.OAuthClientSecret = "", "" }, "admin_client_id: set only with oauth_client_id"},
		{"admin secret missing", func(c *Config) { c.AdminClientSecret = "" }, "admin_client_secret: required"},
		{"admin secret alone", func(c *Config) { c.AdminClientID = "" }, "admin_client_secret: set only with"},
		{"spaces", func(c *Config) { c.OAuthClientID = "a b" }, "oauth_client_id: \"a b\" must be one word"},
		{"timeout", func(c *Config) { c.OAuthTimeout = 0 }, "oauth_timeout:"},
		{"cache", func(c *Config) { c.TokenCacheSize = 0 }, "token_cache_size:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.mod(&c)
			err := c.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCacheBoundedAndExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCache(2)
	tok := func(v string, life time.Duration) qlik.AccessToken {
		return qlik.AccessToken{Value: v, ExpiresAt: now.Add(life)}
	}
	c.put("a", tok("ta", time.Hour), now)
	c.put("b", tok("tb", 10*time.Minute), now)
	c.put("c", tok("tc", time.Hour), now) // full: b goes first
	if _, ok := c.get("b", now); ok || c.len() != 2 {
		t.Fatalf("the entry closest to expiry was not dropped (%d entries)", c.len())
	}
	if got, ok := c.get("a", now); !ok || got.Value != "ta" {
		t.Errorf("a: %v %v", got, ok)
	}
	// Handed out until a minute before expiry, not after.
	if _, ok := c.get("a", now.Add(58*time.Minute)); !ok {
		t.Error("a dropped two minutes before expiry")
	}
	if _, ok := c.get("a", now.Add(59*time.Minute)); ok {
		t.Error("a handed out a minute before expiry")
	}
	// A short-lived token is kept for a quarter of its life.
	c.put("d", tok("td", 2*time.Minute), now)
	if _, ok := c.get("d", now.Add(29*time.Second)); !ok {
		t.Error("d dropped early")
	}
	if _, ok := c.get("d", now.Add(31*time.Second)); ok {
		t.Error("d kept past a quarter of its life")
	}
	// A token already expired is not stored.
	c.put("e", tok("te", -time.Second), now)
	if _, ok := c.get("e", now); ok {
		t.Error("an expired token was cached")
	}
}

// newTenant is a simulated tenant with the two OAuth clients, and an
// Issuer for it.
func newTenant(t *testing.T, mod func(*Config)) (*qliksim.Cloud, *Issuer) {
	t.Helper()
	sim, err := qliksim.NewCloud(qliksim.CloudOptions{Logf: t.Logf, OAuthClients: []qliksim.CloudOAuthClient{
		{ID: "embed", Secret: "embed-secret", GrantTypes: []string{qliksim.CloudGrantImpersonation}, Scopes: []string{qliksim.CloudScopeUserDefault}},
		{ID: "admin", Secret: "admin-secret", GrantTypes: []string{qliksim.CloudGrantClientCredentials}, Scopes: []string{qliksim.CloudScopeAdminClassic}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	var cfg Config
	cfg.Defaults()
	cfg.OAuthClientID, cfg.OAuthClientSecret = "embed", "embed-secret"
	cfg.AdminClientID, cfg.AdminClientSecret = "admin", "admin-secret"
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return sim, New(cfg, sim.URL(), sim.PKI().CertPool(), nil)
}

var jane = qlik.User{UserID: "jane", Name: "Jane Doe", Email: "jane@example.com"}

func TestTokenCreatesUserOnce(t *testing.T) {
	sim, iss := newTenant(t, nil)
	tok, err := iss.Token(context.Background(), "CORP\\jane", jane)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := sim.User("CORP\\jane"); !ok || u.Email != "jane@example.com" || u.Name != "Jane Doe" {
		t.Fatalf("user %+v %v", u, ok)
	}
	if tok.Value == "" || tok.Scope != Scope || time.Until(tok.ExpiresAt) < 5*time.Hour || tok.Cached {
		t.Errorf("token %+v", tok)
	}
	again, err := iss.Token(context.Background(), "CORP\\jane", jane)
	if err != nil || again.Value != tok.Value || !again.Cached {
		t.Errorf("second call: %+v %v, want the cached token", again, err)
	}
	if st := sim.OAuthStats(); st.UsersCreatedByAPI != 1 || st.ImpersonationTokens != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTokenRefusals(t *testing.T) {
	t.Run("wrong client secret: no user creation", func(t *testing.T) {
		sim, iss := newTenant(t, func(c *Config) { c.OAuthClientSecret = "wrong-secret-value" })
		_, err := iss.Token(context.Background(), "jane", jane)
		var te *TenantError
		if !errors.As(err, &te) || te.Status != 401 {
			t.Fatalf("err %v, want the tenant's 401", err)
		}
		if strings.Contains(err.Error(), "wrong-secret-value") {
			t.Error("the error carries the secret")
		}
		if st := sim.OAuthStats(); st.UsersCreatedByAPI != 0 || st.TokenRequestsFailed != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		sim, iss := newTenant(t, nil)
		if _, err := iss.Token(context.Background(), "jane", jane); err != nil {
			t.Fatal(err)
		}
		sim.DisableUser("jane")
		// A fresh issuer, whose cache does not hold her token yet.
		fresh := New(iss.cfg, sim.URL(), sim.PKI().CertPool(), nil)
		_, err := fresh.Token(context.Background(), "jane", jane)
		var te *TenantError
		if !errors.As(err, &te) || te.Status != 403 {
			t.Fatalf("err %v, want the tenant's 403", err)
		}
		if st := sim.OAuthStats(); st.UsersCreatedByAPI != 1 {
			t.Errorf("a disabled user led to another creation attempt: %+v", st)
		}
	})
	t.Run("admin refused", func(t *testing.T) {
		sim, iss := newTenant(t, func(c *Config) { c.AdminScope = "user_default" })
		_, err := iss.Token(context.Background(), "jane", jane)
		if err == nil || !strings.Contains(err.Error(), "creating the user") || !strings.Contains(err.Error(), "user not found") {
			t.Fatalf("err %v", err)
		}
		if _, ok := sim.User("jane"); ok {
			t.Error("user created anyway")
		}
	})
	t.Run("no subject", func(t *testing.T) {
		_, iss := newTenant(t, nil)
		if _, err := iss.Token(context.Background(), " ", jane); err == nil {
			t.Error("a blank subject was accepted")
		}
	})
}

// TestTokenConcurrentCallersShareOneCall: one tenant call for many
// concurrent callers, and a caller that gives up does not fail the rest.
func TestTokenConcurrentCallersShareOneCall(t *testing.T) {
	sim, iss := newTenant(t, nil)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := iss.Token(gone, "jane", jane); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled caller: %v", err)
	}
	var wg sync.WaitGroup
	tokens := make([]string, 16)
	for i := range tokens {
		wg.Go(func() {
			tok, err := iss.Token(context.Background(), "jane", jane)
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok.Value
		})
	}
	wg.Wait()
	for _, v := range tokens {
		if v != tokens[0] || v == "" {
			t.Fatalf("callers got different tokens: %q", tokens)
		}
	}
	if st := sim.OAuthStats(); st.ImpersonationTokens != 1 || st.UsersCreatedByAPI != 1 {
		t.Errorf("stats %+v, want one impersonation and one creation", st)
	}
}

func TestDiagnose(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want []bool // OK of each result
	}{
		{"both right", nil, []bool{true, true}},
		{"wrong impersonation secret", func(c *Config) { c.OAuthClientSecret = "nope" }, []bool{false, true}},
		{"wrong admin secret", func(c *Config) { c.AdminClientSecret = "nope" }, []bool{true, false}},
		{"admin scope not allowed", func(c *Config) { c.AdminScope = "admin.users" }, []bool{true, false}},
		{"no admin", func(c *Config) { c.AdminClientID, c.AdminClientSecret = "", "" }, []bool{true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim, iss := newTenant(t, tt.mod)
			res := iss.Diagnose(context.Background())
			if len(res) != len(tt.want) {
				t.Fatalf("results %+v", res)
			}
			for i, r := range res {
				if r.OK != tt.want[i] || r.Warn || (!r.OK && r.Fix == "") {
					t.Errorf("result %d: %+v, want OK=%v", i, r, tt.want[i])
				}
			}
			if _, ok := sim.User(checkSubject); ok {
				t.Error("the check created a user")
			}
			if st := sim.OAuthStats(); st.ImpersonationTokens != 0 || st.UsersCreatedByAPI != 0 {
				t.Errorf("the check obtained a user token or created a user: %+v", st)
			}
		})
	}
}
