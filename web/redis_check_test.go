package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/web/redistest"
)

// diagnoseRedis runs the session store's checks for a Redis URL.
func diagnoseRedis(t *testing.T, mod func(*RedisConfig)) []check.Result {
	t.Helper()
	cfg := DefaultConfig().Session
	cfg.Store = "redis"
	mod(&cfg.Redis)
	subjects := SessionStoreChecks(cfg)
	if len(subjects) != 1 || subjects[0].Label != "session.redis" {
		t.Fatalf("subjects %+v", subjects)
	}
	reports := check.Run(context.Background(), 10*time.Second, subjects)
	return reports[0].Results
}

// summary is "name: ok|warn|FAIL: detail | fix" per result, for assertions
// and failure messages.
func summary(rs []check.Result) string {
	var b strings.Builder
	for _, r := range rs {
		mark := "ok"
		if !r.OK {
			mark = "FAIL"
		} else if r.Warn {
			mark = "warn"
		}
		fmt.Fprintf(&b, "%s: %s: %s | %s\n", r.Name, mark, r.Detail, r.Fix)
	}
	return b.String()
}

func TestRedisCheck(t *testing.T) {
	srv, client := testRedis(t)
	ctx := context.Background()
	url := func(c *RedisConfig) { c.URL = srv.URL }

	got := summary(diagnoseRedis(t, url))
	for _, want := range []string{"server " + srv.URL + ": ok: answers (Redis ", `writes: ok: stores, counts and deletes keys under "qlikgate:"`} {
		if !strings.Contains(got, want) {
			t.Errorf("healthy Redis: want %q in\n%s", want, got)
		}
	}
	if keys := client.Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Errorf("the check left keys behind: %v", keys)
	}

	client.ConfigSet(ctx, "maxmemory", "100mb")
	client.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru")
	if got := summary(diagnoseRedis(t, url)); !strings.Contains(got, "eviction: warn: maxmemory-policy is allkeys-lru") {
		t.Errorf("evicting Redis:\n%s", got)
	}
	client.ConfigSet(ctx, "maxmemory", "0")

	client.ConfigSet(ctx, "requirepass", "s3cret")
	got = summary(diagnoseRedis(t, url))
	if !strings.Contains(got, "FAIL") || !strings.Contains(got, "check the user and password in session.redis.url") {
		t.Errorf("password required, none given:\n%s", got)
	}
	if got = summary(diagnoseRedis(t, func(c *RedisConfig) { c.URL, c.Password = srv.URL, "s3cret" })); strings.Contains(got, "FAIL") {
		t.Errorf("with session.redis.password:\n%s", got)
	}
	if strings.Contains(got, "s3cret") {
		t.Error("the results show the password")
	}
	client.Do(ctx, "AUTH", "s3cret")
	client.ConfigSet(ctx, "requirepass", "")

	// An ACL user without qlikgate's keys.
	if err := client.Do(ctx, "ACL", "SETUSER", "limited", "on", ">pw", "~other:*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	limited := func(c *RedisConfig) { c.URL = strings.Replace(srv.URL, "redis://", "redis://limited:pw@", 1) }
	if got := summary(diagnoseRedis(t, limited)); !strings.Contains(got, "writes: FAIL: NOPERM") || !strings.Contains(got, "ACL: ~qlikgate:*") {
		t.Errorf("ACL user without the keys:\n%s", got)
	}

	// A replica refuses writes.
	other, _ := redistest.FreeAddr()
	host, port, _ := strings.Cut(other, ":")
	if err := client.Do(ctx, "REPLICAOF", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	if got := summary(diagnoseRedis(t, url)); !strings.Contains(got, "writes: FAIL: this Redis is a read-only replica | point session.redis.url at the primary") {
		t.Errorf("replica:\n%s", got)
	}
}

func TestRedisCheckDown(t *testing.T) {
	addr, err := redistest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	got := summary(diagnoseRedis(t, func(c *RedisConfig) { c.URL = "redis://" + addr }))
	if !strings.Contains(got, "server redis://"+addr+": FAIL") || !strings.Contains(got, "nothing accepts connections on "+addr) {
		t.Errorf("Redis down:\n%s", got)
	}
}

func TestRedisCheckTLS(t *testing.T) {
	srv := redistest.StartTLS(t)
	got := summary(diagnoseRedis(t, func(c *RedisConfig) { c.URL = srv.URL }))
	if !strings.Contains(got, "FAIL") || !strings.Contains(got, "set session.redis.ca_file to a PEM file holding the CA") {
		t.Errorf("TLS with a private CA, no ca_file:\n%s", got)
	}
	got = summary(diagnoseRedis(t, func(c *RedisConfig) { c.URL, c.CAFile = srv.URL, srv.CAFile }))
	if strings.Contains(got, "FAIL") || !strings.Contains(got, "server "+srv.URL+": ok") {
		t.Errorf("TLS with ca_file:\n%s", got)
	}
	// The certificate names 127.0.0.1, not localhost.
	got = summary(diagnoseRedis(t, func(c *RedisConfig) {
		c.URL, c.CAFile = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), srv.CAFile
	}))
	if !strings.Contains(got, "does not name \"localhost\"") {
		t.Errorf("TLS, name mismatch:\n%s", got)
	}
}

func TestNoSessionStoreChecksForCookies(t *testing.T) {
	if s := SessionStoreChecks(DefaultConfig().Session); s != nil {
		t.Errorf("cookie store checks: %+v", s)
	}
}
