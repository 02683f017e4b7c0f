package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisAttempts is the attempt store of session.store: redis: failed
// logins counted in Redis, so that an attacker spreading attempts over
// several instances meets one limit. Each key has two Redis keys: a list
// of the recent failure times (Unix ms, oldest first, at most the key's
// limit) and the consecutive count. Both expire after a quiet period
// without failures, as entries of the memory store are forgotten, so a
// flood of random usernames costs Redis nothing lasting.
type redisAttempts struct {
	client  *redis.Client
	prefix  string // of every throttle key, key_prefix included
	quiet   time.Duration
	timeout time.Duration
	fails   *redis.Script
}

// failScript records one failure atomically, so that instances failing the
// same key at once each count. KEYS: times, count. ARGV: now (ms), how
// many times to keep, the quiet period (ms). Times come from the caller's
// clock, like the memory store's, so both judge a window the same way.
const failScript = `
local last = redis.call('LINDEX', KEYS[1], -1)
if last and tonumber(ARGV[1]) - tonumber(last) > tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`

func newRedisAttempts(client *redis.Client, prefix string, quiet, timeout time.Duration) *redisAttempts {
	return &redisAttempts{client: client, prefix: prefix, quiet: quiet, timeout: timeout, fails: redis.NewScript(failScript)}
}

// maxKeyInName is the longest throttle key used as it is in a Redis key
// name; longer ones (a megabyte "username") are hashed.
const maxKeyInName = 200

// keys returns the Redis keys of the failure times and the count of key.
func (s *redisAttempts) keys(key string) (times, count string) {
	if len(key) > maxKeyInName {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	return s.prefix + key + ":t", s.prefix + key + ":n"
}

func (s *redisAttempts) get(ctx context.Context, key string) (attempts, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tk, nk := s.keys(key)
	var (
		times *redis.StringSliceCmd
		count *redis.StringCmd
	)
	// MULTI: the times and the count of one moment.
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		times = p.LRange(ctx, tk, 0, -1)
		count = p.Get(ctx, nk)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return attempts{}, fmt.Errorf("redis throttle: read: %w", err)
	}
	var a attempts
	for _, t := range times.Val() {
		ms, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return attempts{}, fmt.Errorf("redis throttle: read %s: %q is not a time", tk, t)
		}
		a.recent = append(a.recent, time.UnixMilli(ms))
	}
	if n := count.Val(); n != "" {
		if a.consecutive, err = strconv.Atoi(n); err != nil {
			return attempts{}, fmt.Errorf("redis throttle: read %s: %q is not a count", nk, n)
		}
	}
	return a, nil
}

func (s *redisAttempts) fail(ctx context.Context, key string, now time.Time, keep int) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tk, nk := s.keys(key)
	err := s.fails.Run(ctx, s.client, []string{tk, nk}, now.UnixMilli(), keep, s.quiet.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redis throttle: record a failure: %w", err)
	}
	return nil
}

func (s *redisAttempts) reset(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tk, nk := s.keys(key)
	if err := s.client.Del(ctx, tk, nk).Err(); err != nil {
		return fmt.Errorf("redis throttle: reset: %w", err)
	}
	return nil
}
