package web

import "github.com/redis/go-redis/v9"

// ClientOptions are the go-redis options of the block, for other parts of
// qlikgate that keep shared state in the same Redis (cloud-oidc's codes and
// tokens).
func (c RedisConfig) ClientOptions() (*redis.Options, error) { return c.options() }
