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
	client   *redis.Client
	prefix   string // of every throttle key, key_prefix included
	timeout  time.Duration
	reserves *redis.Script
	releases *redis.Script
}

// reserveScript is the memory store's reserve in one atomic step, so that
// parallel attempts on any number of instances each see the others'
// counts. KEYS: times, count. ARGV: now (ms), the limit, the lockout (ms).
// It returns 0 when the attempt was counted, else when the key may try
// again (ms). Times come from the caller's clock, like the memory store's,
// so both judge a window the same way; the rule is throttle.go's until.
const reserveScript = `
local now, limit, lockout = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local last = redis.call('LINDEX', KEYS[1], -1)
if last and now - tonumber(last) > lockout then
  redis.call('DEL', KEYS[1], KEYS[2])
end
local times = redis.call('LRANGE', KEYS[1], 0, -1)
local consecutive = tonumber(redis.call('GET', KEYS[2]) or '0')
local wait = 0
local inside = {}
for _, t in ipairs(times) do
  if tonumber(t) > now - lockout then inside[#inside + 1] = tonumber(t) end
end
if #inside >= limit then wait = inside[#inside - limit + 1] + lockout end
if consecutive >= limit and #times > 0 then
  local d, i = 1000, limit
  while i < consecutive and d < lockout do d, i = d * 2, i + 1 end
  local b = tonumber(times[#times]) + math.min(d, lockout)
  if b > wait then wait = b end
end
if wait > now then return wait end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -limit, -1)
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[1], lockout)
redis.call('PEXPIRE', KEYS[2], lockout)
return 0
`

// releaseScript takes back one attempt counted at ARGV[1] (ms).
const releaseScript = `
if redis.call('LREM', KEYS[1], -1, ARGV[1]) > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end
return 1
`

func newRedisAttempts(client *redis.Client, prefix string, timeout time.Duration) *redisAttempts {
	return &redisAttempts{client: client, prefix: prefix, timeout: timeout,
		reserves: redis.NewScript(reserveScript), releases: redis.NewScript(releaseScript)}
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

func (s *redisAttempts) reserve(ctx context.Context, key string, now time.Time, r rule) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tk, nk := s.keys(key)
	ms, err := s.reserves.Run(ctx, s.client, []string{tk, nk}, now.UnixMilli(), r.limit, r.lockout.Milliseconds()).Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("redis throttle: reserve an attempt: %w", err)
	}
	if ms == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms), nil
}

func (s *redisAttempts) release(ctx context.Context, key string, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tk, nk := s.keys(key)
	if err := s.releases.Run(ctx, s.client, []string{tk, nk}, at.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("redis throttle: release an attempt: %w", err)
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
