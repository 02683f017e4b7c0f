package config

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
)

// TestTargetsShareRedis: with session.store redis, targets learn the Redis
// and the session secret (cloud-oidc keeps codes and tokens there); with
// the cookie store they get no Redis.
func TestTargetsShareRedis(t *testing.T) {
	for _, tc := range []struct {
		store     string
		wantRedis bool
	}{{"cookie", false}, {"redis", true}} {
		c := &Config{}
		c.Server.PublicURL = "https://auth.example.com/"
		c.Session.Secret = strings.Repeat("x", 40)
		c.Session.Store = tc.store
		c.Session.Redis.URL = "redis://127.0.0.1:6379/0"
		c.Session.Redis.KeyPrefix = "qg:"
		env := targetFamily.env(c, qlik.Common{ID: "cloud"}, slog.New(slog.DiscardHandler))
		if got := env.Shared.Redis != nil; got != tc.wantRedis {
			t.Errorf("store %s: Redis given = %v", tc.store, got)
		}
		if tc.wantRedis && (env.Shared.KeyPrefix != "qg:" || env.Shared.Redis.Addr != "127.0.0.1:6379") {
			t.Errorf("store %s: shared = %+v", tc.store, env.Shared)
		}
		if env.Shared.Secret != c.Session.Secret {
			t.Errorf("store %s: no session secret", tc.store)
		}
	}
}
