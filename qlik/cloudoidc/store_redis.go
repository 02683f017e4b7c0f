package cloudoidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps codes and access tokens in the Redis that qlikgate's
// instances share (session.store: redis), so the tenant's token and
// userinfo calls may reach any instance. A code is taken with GETDEL, one
// atomic step, so it is single-use across instances too. Keys hold a
// SHA-256 of the code or token id, never the value itself.
type redisStore struct {
	c      *redis.Client
	prefix string // {key_prefix}oidc:{target}:
}

func newRedisStore(o *redis.Options, keyPrefix, target string) *redisStore {
	return &redisStore{c: redis.NewClient(o), prefix: keyPrefix + "oidc:" + target + ":"}
}

func (r *redisStore) key(kind, v string) string {
	h := sha256.Sum256([]byte(v))
	return r.prefix + kind + ":" + hex.EncodeToString(h[:])
}

func (r *redisStore) put(ctx context.Context, k string, g *grant, exp, now time.Time) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	ttl := exp.Sub(now)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	ok, err := r.c.SetNX(ctx, k, b, ttl).Result()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if !ok {
		return errors.New("redis: key exists") // 130 random bits: never in practice
	}
	return nil
}

func (r *redisStore) get(ctx context.Context, cmd *redis.StringCmd) (*grant, bool, error) {
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	g := new(grant)
	if err := json.Unmarshal(b, g); err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	return g, true, nil
}

func (r *redisStore) putCode(ctx context.Context, code string, g *grant, exp, now time.Time) error {
	return r.put(ctx, r.key("code", code), g, exp, now)
}

func (r *redisStore) takeCode(ctx context.Context, code string, _ time.Time) (*grant, bool, error) {
	return r.get(ctx, r.c.GetDel(ctx, r.key("code", code)))
}

func (r *redisStore) putToken(ctx context.Context, id string, g *grant, exp, now time.Time) error {
	return r.put(ctx, r.key("at", id), g, exp, now)
}

func (r *redisStore) token(ctx context.Context, id string, _ time.Time) (*grant, bool, error) {
	return r.get(ctx, r.c.Get(ctx, r.key("at", id)))
}

func (r *redisStore) revokeToken(ctx context.Context, id string) error {
	return r.c.Del(ctx, r.key("at", id)).Err()
}

func (r *redisStore) Close() error { return r.c.Close() }
