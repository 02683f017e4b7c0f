package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/qlikgate/qlikgate/internal/audit"
)

// useRedis moves sessions and failed-login counts into Redis (session.store:
// redis), so that every instance sharing it sees the same sign-ins, the
// same attempts and the same logouts.
//
// A Redis that is down does not stop the start: the instance serves, the
// log says Redis is unreachable, and until it is back browsers get the
// login page (sessions cannot be kept) while throttling fails open, as it
// does for any store error. Refusing to start instead would turn a Redis
// restart into an outage of every instance at their next restart.
func (s *Server) useRedis(cfg Config) error {
	rc := cfg.Session.Redis
	opts, err := rc.options()
	if err != nil {
		return keyed("session.redis.", err)
	}
	client := redis.NewClient(opts)
	s.sessions.keepIn(client, rc, s.log)
	s.throttle.store = newRedisAttempts(client, rc.KeyPrefix+"throttle:", rc.Timeout)

	if u, err := url.Parse(rc.URL); err == nil && u.Scheme == "redis" && !isLoopback(u.Hostname()) {
		s.log.Warn("session.redis.url is plain redis://: session data (who is signed in, their groups) and the password cross the network unencrypted; use rediss://",
			"redis", rc.redactedURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), rc.Timeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		s.log.Error("Redis is unreachable: until it is, nobody can sign in and signed-in users get the login page; `qlikgate check` tells why",
			audit.Key, audit.RedisUnavailable, "redis", rc.redactedURL(), "cause", err.Error())
	}
	return nil
}

// Close releases what the server holds beyond its handlers: the connections
// to Redis. Call it once the server no longer serves requests (at shutdown,
// or when a reload has replaced it).
func (s *Server) Close() error {
	if rs, ok := s.sessions.server.(*redisSessions); ok {
		return rs.client.Close()
	}
	return nil
}

// SetRedisLog sends go-redis's own messages to log, at debug level: by
// default they are plain lines on stderr, which would break a JSON log, and
// the failures that matter are logged by qlikgate with their context
// (events session_store_failed, throttle_error, redis_unavailable).
// go-redis has one logger per process, so the last call wins: only main
// calls it, once it has built the process's logger; a Server never does.
func SetRedisLog(log *slog.Logger) { redis.SetLogger(redisLogger{log: log}) }

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", audit.Key, audit.RedisClient, "detail", fmt.Sprintf(format, v...))
}
