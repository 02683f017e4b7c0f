package web

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikgate/qlikgate/web/redistest"
)

// testRedis starts redis-server and returns a client of it (closed at the
// end of the test).
func testRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	c := DefaultRedis()
	c.URL = srv.URL
	opts, err := c.options()
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return srv, client
}

// TestRedisAttemptsLikeMemory replays one history of reservations,
// releases, resets and quiet periods into both stores: the throttle must
// decide the same whichever store counts.
func TestRedisAttemptsLikeMemory(t *testing.T) {
	_, client := testRedis(t)
	r := rule{limit: 3, lockout: 10 * time.Minute}
	stores := map[string]attemptStore{
		"memory": newMemoryAttempts(100),
		"redis":  newRedisAttempts(client, "qlikgate:throttle:", time.Second),
	}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		op      string // reserve, release, reset
		key     string
		at      time.Duration
		refused bool // reserve: must wait
	}{
		{"reserve", "u:local:alice", 0, false},
		{"reserve", "u:local:alice", time.Second, false},
		{"reserve", "ip:10.0.0.1", time.Second, false},
		{"release", "u:local:alice", time.Second, false}, // a success: taken back
		{"reserve", "u:local:alice", 2 * time.Second, false},
		{"reserve", "u:local:alice", 3 * time.Second, false},
		{"reserve", "u:local:alice", 4 * time.Second, true},  // 3 in the window
		{"release", "u:local:alice", 4 * time.Second, false}, // nothing counted at 4s: no change
		{"reserve", "u:local:alice", 10*time.Minute + 1*time.Second, false},
		{"reserve", "u:local:alice", 10*time.Minute + 2*time.Second, true}, // back-off after 4 consecutive
		{"reset", "ip:10.0.0.1", 11 * time.Minute, false},
		{"reserve", "u:local:bob", 12 * time.Minute, false},
		{"reserve", "u:local:bob", 12*time.Minute + r.lockout + time.Second, false}, // after a quiet period: afresh
	}
	for i, st := range steps {
		for name, s := range stores {
			var err error
			switch st.op {
			case "reserve":
				var u time.Time
				u, err = s.reserve(ctx, st.key, t0.Add(st.at), r)
				if refused := !u.IsZero(); err == nil && refused != st.refused {
					t.Fatalf("step %d, %s: reserve refused=%v (until %v), want %v", i, name, refused, u, st.refused)
				}
			case "release":
				err = s.release(ctx, st.key, t0.Add(st.at))
			default:
				err = s.reset(ctx, st.key)
			}
			if err != nil {
				t.Fatalf("step %d, %s: %v", i, name, err)
			}
		}
		for _, key := range []string{"u:local:alice", "u:local:bob", "ip:10.0.0.1"} {
			m, _ := stores["memory"].get(ctx, key)
			r, err := stores["redis"].get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if !sameAttempts(m, r) {
				t.Fatalf("after step %d, %s: memory %+v, redis %+v", i, key, m, r)
			}
		}
	}
	if a, _ := stores["redis"].get(ctx, "u:local:alice"); a.consecutive != 4 || len(a.recent) != 3 {
		t.Errorf("alice: %+v, want 4 consecutive and the 3 latest times", a)
	}
}

func sameAttempts(a, b attempts) bool {
	if a.consecutive != b.consecutive || len(a.recent) != len(b.recent) {
		return false
	}
	for i := range a.recent {
		if !a.recent[i].Equal(b.recent[i]) {
			return false
		}
	}
	return true
}

// TestAttemptsReserveAtomically has 100 goroutines reserve one key at one
// moment: exactly the limit get through, whichever store counts (for Redis,
// half of them through a second client, as a second instance would).
func TestAttemptsReserveAtomically(t *testing.T) {
	_, client := testRedis(t)
	other := redis.NewClient(client.Options())
	t.Cleanup(func() { other.Close() })
	for name, stores := range map[string][2]attemptStore{
		"memory": func() [2]attemptStore { m := newMemoryAttempts(100); return [2]attemptStore{m, m} }(),
		"redis":  {newRedisAttempts(client, "p:", time.Second), newRedisAttempts(other, "p:", time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			var counted atomic.Int32
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Go(func() {
					u, err := stores[i%2].reserve(ctx, "u:local:alice", now, rule{limit: 5, lockout: time.Minute})
					if err != nil {
						t.Error(err)
					}
					if u.IsZero() {
						counted.Add(1)
					}
				})
			}
			wg.Wait()
			if n := counted.Load(); n != 5 {
				t.Errorf("%d of 100 parallel attempts counted, want exactly 5", n)
			}
			got, err := stores[0].get(ctx, "u:local:alice")
			if err != nil || got.consecutive != 5 || len(got.recent) != 5 {
				t.Errorf("after the race: %+v, %v; want 5 attempts", got, err)
			}
		})
	}
}

// TestRedisAttemptsExpire checks that no key outlives the quiet period and
// that an attacker's megabyte username does not become a megabyte key.
func TestRedisAttemptsExpire(t *testing.T) {
	_, client := testRedis(t)
	s := newRedisAttempts(client, "p:", time.Second)
	ctx := context.Background()
	long := "u:local:" + strings.Repeat("x", 1<<20)
	for _, key := range []string{"u:local:alice", long} {
		if _, err := s.reserve(ctx, key, time.Now(), rule{limit: 5, lockout: 10 * time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := client.Keys(ctx, "p:*").Result()
	if err != nil || len(keys) != 4 {
		t.Fatalf("keys %v (%v), want times and count of two keys", keys, err)
	}
	for _, k := range keys {
		if len(k) > maxKeyInName+len("p:")+len(":t") {
			t.Errorf("a key of %d bytes", len(k))
		}
		if ttl := client.PTTL(ctx, k).Val(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
			t.Errorf("%.40s… expires in %v, want the 10m quiet period", k, ttl)
		}
	}
	if a, err := s.get(ctx, long); err != nil || a.consecutive != 1 {
		t.Errorf("the long key reads back %+v, %v", a, err)
	}
}

// TestRedisAttemptsFailWhenDown: every operation reports the outage (the
// login handler then fails open and logs it), quickly.
func TestRedisAttemptsFailWhenDown(t *testing.T) {
	srv, client := testRedis(t)
	srv.Stop()
	s := newRedisAttempts(client, "p:", time.Second)
	ctx := context.Background()
	start := time.Now()
	for name, err := range map[string]error{
		"get": func() error { _, err := s.get(ctx, "k"); return err }(),
		"reserve": func() error {
			_, err := s.reserve(ctx, "k", time.Now(), rule{limit: 5, lockout: time.Minute})
			return err
		}(),
		"release": s.release(ctx, "k", time.Now()),
		"reset":   s.reset(ctx, "k"),
	} {
		if err == nil || !strings.Contains(err.Error(), "redis throttle: ") {
			t.Errorf("%s with Redis down: %v", name, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("four calls took %v with Redis refusing connections", d)
	}
}

// TestRedisThrottleNeverExceedsLimitPerWindow is the Active Directory
// guarantee of throttle_test.go with the Redis store.
func TestRedisThrottleNeverExceedsLimitPerWindow(t *testing.T) {
	_, client := testRedis(t)
	cfg := SecurityConfig{MaxAttempts: 5, IPMaxAttempts: 1000, Lockout: 10 * time.Minute}
	attackAsFastAsAllowed(t, &throttle{cfg: cfg, store: newRedisAttempts(client, "p:", time.Second)}, 30)
	ctx := context.Background()
	want := []string{"p:ip:1:n", "p:ip:1:t", "p:u:x:alice:n", "p:u:x:alice:t"}
	keys := client.Keys(ctx, "p:*").Val()
	if slices.Sort(keys); !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
}
