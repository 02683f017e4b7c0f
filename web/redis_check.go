package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikgate/qlikgate/check"
)

// SessionStoreChecks returns the checks of the session store, for
// `qlikgate check` and /readyz: none for the cookie store; for Redis, that
// it answers and takes qlikgate's writes.
func SessionStoreChecks(cfg SessionConfig) []check.Subject {
	if cfg.Store != "redis" {
		return nil
	}
	return []check.Subject{{Label: "session.redis", Diagnoser: redisCheck{cfg: cfg.Redis}}}
}

// redisCheck diagnoses the Redis of session.store: redis with a connection
// of its own, so that it can run before (or without) a server.
type redisCheck struct{ cfg RedisConfig }

// Diagnose connects, writes and deletes a probe key with the commands
// qlikgate uses (a key under key_prefix nobody reads), and looks at the
// eviction policy.
func (c redisCheck) Diagnose(ctx context.Context) []check.Result {
	opts, err := c.cfg.options()
	if err != nil {
		key, detail, _ := strings.Cut(err.Error(), ": ") // "url: …" or "ca_file: …"
		return []check.Result{check.Fail(key, detail, "correct session.redis."+key)}
	}
	client := redis.NewClient(opts)
	defer client.Close()
	name := "server " + c.cfg.redactedURL()
	// INFO's default sections hold the version and the memory policy. It
	// may be denied to an ACL user: then PING is the test.
	info, err := client.Info(ctx).Result()
	if isNoPerm(err) {
		info, err = "", client.Ping(ctx).Err()
	}
	if err != nil {
		peer := check.Peer{What: "Redis", Addr: opts.Addr, CAKey: "session.redis.ca_file"}
		return []check.Result{check.Fail(name, err.Error(), redisFix(peer, err))}
	}
	out := []check.Result{check.Pass(name, "answers"+versionOf(info))}
	out = append(out, c.probeWrites(ctx, client))
	if r, ok := evictionWarning(info); ok {
		out = append(out, r)
	}
	return out
}

// probeWrites does what a login does: a session write with a time to
// live, the throttling script, and deletes. A replica, or an ACL user
// without these rights, fails here rather than at users' first login.
func (c redisCheck) probeWrites(ctx context.Context, client *redis.Client) check.Result {
	const name = "writes"
	probe := c.cfg.KeyPrefix + "check:" + randomID()
	attempts := newRedisAttempts(client, probe+":", c.cfg.Timeout)
	at := time.Now()
	var err error
	for _, step := range []func() error{
		func() error { return client.Set(ctx, probe, "qlikgate check", time.Minute).Err() },
		func() error {
			_, err := attempts.reserve(ctx, "probe", at, rule{limit: 1, lockout: time.Minute})
			return err
		},
		func() error { return attempts.release(ctx, "probe", at) },
		func() error { return attempts.reset(ctx, "probe") },
		func() error { return client.Del(ctx, probe).Err() },
	} {
		if err = step(); err != nil {
			break // what is left expires within a minute
		}
	}
	switch {
	case err == nil:
		return check.Pass(name, "stores, counts and deletes keys under "+strconv.Quote(c.cfg.KeyPrefix))
	case strings.Contains(err.Error(), "READONLY"):
		return check.Fail(name, "this Redis is a read-only replica", "point session.redis.url at the primary")
	case isNoPerm(err):
		return check.Fail(name, err.Error(), fmt.Sprintf("give qlikgate's Redis user the keys %s* and the commands get, set, del, lrange, evalsha, eval, ping (ACL: ~%s* +@read +@write +@scripting +ping)",
			c.cfg.KeyPrefix, c.cfg.KeyPrefix))
	}
	return check.Fail(name, err.Error(), "see the Redis server's log")
}

// redisFix says what to do when Redis cannot be reached or refuses us.
func redisFix(p check.Peer, err error) string {
	if _, fix := p.Explain(err); fix != "" {
		return fix
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WRONGPASS"), strings.Contains(msg, "NOAUTH"), strings.Contains(msg, "invalid password"):
		return "Redis refused the credentials: check the user and password in session.redis.url, or session.redis.password"
	case strings.Contains(msg, "DB index"):
		return "Redis has no such database: correct the number at the end of session.redis.url"
	}
	return "check session.redis.url and the Redis server's log"
}

func isNoPerm(err error) bool { return err != nil && strings.Contains(err.Error(), "NOPERM") }

// versionOf finds " (Redis 7.2.4)" in INFO's text, or "".
func versionOf(info string) string {
	if v := infoField(info, "redis_version"); v != "" {
		return " (Redis " + v + ")"
	}
	return ""
}

// evictionWarning warns when a full Redis would evict qlikgate's keys: all
// of them have a time to live, so volatile-* policies evict them as much
// as allkeys-* do.
func evictionWarning(info string) (check.Result, bool) {
	policy := infoField(info, "maxmemory_policy")
	if infoField(info, "maxmemory") == "0" || policy == "" || policy == "noeviction" {
		return check.Result{}, false
	}
	return check.Warning("eviction", fmt.Sprintf("maxmemory-policy is %s: a full Redis evicts keys, which signs users out and forgets failed logins", policy),
		"give Redis enough memory for every session (about 1 KB each), or use maxmemory-policy noeviction"), true
}

// infoField returns a field of INFO's "key:value" lines.
func infoField(info, key string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
