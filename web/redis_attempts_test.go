package web

import (
	"context"
	"slices"
	"strings"
	"sync"
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

// TestRedisAttemptsLikeMemory replays one history of failures, successes
// and quiet periods into both stores: the throttle must decide the same
// whichever store counts.
func TestRedisAttemptsLikeMemory(t *testing.T) {
	_, client := testRedis(t)
	quiet := 10 * time.Minute
	stores := map[string]attemptStore{
		"memory": newMemoryAttempts(quiet, 100),
		"redis":  newRedisAttempts(client, "qlikgate:throttle:", quiet, time.Second),
	}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		op  string // fail, reset
		key string
		at  time.Duration
	}{
		{"fail", "u:local:alice", 0},
		{"fail", "u:local:alice", time.Second},
		{"fail", "ip:10.0.0.1", time.Second},
		{"fail", "u:local:alice", 2 * time.Second},
		{"fail", "u:local:alice", 3 * time.Second}, // beyond keep (3): the oldest goes
		{"fail", "u:local:alice", 4 * time.Second},
		{"reset", "ip:10.0.0.1", 5 * time.Second},
		{"fail", "u:local:bob", 6 * time.Second},
		{"fail", "u:local:bob", 6*time.Second + quiet + time.Second}, // after a quiet period: counted afresh
	}
	for i, st := range steps {
		for name, s := range stores {
			var err error
			if st.op == "fail" {
				err = s.fail(ctx, st.key, t0.Add(st.at), 3)
			} else {
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
	if a, _ := stores["redis"].get(ctx, "u:local:alice"); a.consecutive != 5 || len(a.recent) != 3 {
		t.Errorf("alice: %+v, want 5 consecutive and the 3 latest times", a)
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

// TestRedisAttemptsCountAtomically has two instances (two clients) fail one
// username at once: every failure counts.
func TestRedisAttemptsCountAtomically(t *testing.T) {
	srv, client := testRedis(t)
	other := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer other.Close()
	a := newRedisAttempts(client, "p:", time.Minute, time.Second)
	b := newRedisAttempts(other, "p:", time.Minute, time.Second)
	ctx := context.Background()
	now := time.Now()
	var wg sync.WaitGroup
	for i := range 100 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			if err := s.fail(ctx, "u:local:alice", now.Add(time.Duration(i)*time.Millisecond), 5); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := a.get(ctx, "u:local:alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.consecutive != 100 || len(got.recent) != 5 {
		t.Errorf("%d consecutive, %d recent; want 100 and 5", got.consecutive, len(got.recent))
	}
}

// TestRedisAttemptsExpire checks that no key outlives the quiet period and
// that an attacker's megabyte username does not become a megabyte key.
func TestRedisAttemptsExpire(t *testing.T) {
	_, client := testRedis(t)
	s := newRedisAttempts(client, "p:", 10*time.Minute, time.Second)
	ctx := context.Background()
	long := "u:local:" + strings.Repeat("x", 1<<20)
	for _, key := range []string{"u:local:alice", long} {
		if err := s.fail(ctx, key, time.Now(), 5); err != nil {
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
	s := newRedisAttempts(client, "p:", time.Minute, time.Second)
	ctx := context.Background()
	start := time.Now()
	for name, err := range map[string]error{
		"get":   func() error { _, err := s.get(ctx, "k"); return err }(),
		"fail":  s.fail(ctx, "k", time.Now(), 5),
		"reset": s.reset(ctx, "k"),
	} {
		if err == nil || !strings.Contains(err.Error(), "redis throttle: ") {
			t.Errorf("%s with Redis down: %v", name, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("three calls took %v with Redis refusing connections", d)
	}
}

// TestRedisThrottleNeverExceedsLimitPerWindow is the Active Directory
// guarantee of throttle_test.go with the Redis store.
func TestRedisThrottleNeverExceedsLimitPerWindow(t *testing.T) {
	_, client := testRedis(t)
	cfg := SecurityConfig{MaxAttempts: 5, IPMaxAttempts: 1000, Lockout: 10 * time.Minute}
	attackAsFastAsAllowed(t, &throttle{cfg: cfg, store: newRedisAttempts(client, "p:", cfg.Lockout, time.Second)}, 30)
	ctx := context.Background()
	want := []string{"p:ip:1:n", "p:ip:1:t", "p:u:x:alice:n", "p:u:x:alice:t"}
	keys := client.Keys(ctx, "p:*").Val()
	if slices.Sort(keys); !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
}
