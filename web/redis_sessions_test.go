package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikgate/qlikgate/providers"
)

// redisSessionStore is the session store of a server with session.store:
// redis, on client.
func redisSessionStore(t *testing.T, client *redis.Client, mod func(*SessionConfig)) *sessionStore {
	t.Helper()
	cfg := DefaultConfig().Session
	cfg.Secret = strings.Repeat("s", 40)
	if mod != nil {
		mod(&cfg)
	}
	ss, err := newSessionStore(cfg, "/", true, http.SameSiteLaxMode, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	rc := DefaultRedis()
	rc.Timeout = time.Second
	ss.keepIn(client, rc, slog.New(slog.DiscardHandler))
	return ss
}

// roundTrip loads the session of a request carrying cookie (if any),
// lets change alter the state, saves it, and returns the cookie set.
func roundTrip(t *testing.T, ss *sessionStore, cookie *http.Cookie, change func(*state)) (*http.Cookie, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	sess, st := ss.load(r)
	if change != nil {
		change(st)
	}
	w := httptest.NewRecorder()
	err := ss.save(w, r, sess, st)
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("%d cookies set, want 1", len(cs))
	}
	return cs[0], err
}

func redisKey(c *http.Cookie) string {
	id, _, _ := strings.Cut(c.Value, ".")
	return "qlikgate:session:" + id
}

func TestRedisSessionKeptAsLongAsItLasts(t *testing.T) {
	_, client := testRedis(t)
	ctx := context.Background()
	signIn := func(st *state) { st.login(providers.Identity{UserID: "alice"}, time.Now()) }
	tests := []struct {
		name     string
		mod      func(*SessionConfig)
		change   func(*state)
		min, max time.Duration
	}{
		{"not signed in: as long as a pending entry waits", nil, nil, flowTTL - time.Minute, flowTTL},
		{"signed in: the lifetime", nil, signIn, 8*time.Hour - time.Minute, 8 * time.Hour},
		{"signed in with an idle timeout: until idle", func(c *SessionConfig) { c.IdleTimeout = time.Hour }, signIn, 59 * time.Minute, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := redisSessionStore(t, client, tt.mod)
			c, err := roundTrip(t, ss, nil, tt.change)
			if err != nil {
				t.Fatal(err)
			}
			ttl := client.TTL(ctx, redisKey(c)).Val()
			if ttl < tt.min || ttl > tt.max {
				t.Errorf("kept %v, want between %v and %v", ttl, tt.min, tt.max)
			}
			if d := time.Duration(c.MaxAge) * time.Second; d < tt.min || d > tt.max+time.Second {
				t.Errorf("cookie Max-Age %v, want the same as Redis", d)
			}
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("cookie flags lost: %+v", c)
			}
		})
	}
}

// TestRedisSessionHoldsTheState: Redis holds the state in the encoding the
// cookie store seals, and the cookie only a signed id.
func TestRedisSessionHoldsTheState(t *testing.T) {
	_, client := testRedis(t)
	ss := redisSessionStore(t, client, nil)
	c, err := roundTrip(t, ss, nil, func(st *state) { st.login(providers.Identity{UserID: "alice"}, time.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	data := client.Get(context.Background(), redisKey(c)).Val()
	var st state
	if err := decodeState([]byte(data), &st); err != nil || data[0] != stateBinaryV1 || st.User == nil || st.User.UserID != "alice" {
		t.Errorf("Redis holds %q (%v), want alice's state in the binary encoding", data, err)
	}
	if strings.Contains(c.Value, "alice") || len(c.Value) > maxCookieValue {
		t.Errorf("the cookie %q carries more than a signed id", c.Value)
	}
}

// TestRedisSessionStaysSignedOut: a request that was running when the user
// signed out (on any instance) must not write the session back.
func TestRedisSessionStaysSignedOut(t *testing.T) {
	_, client := testRedis(t)
	ss := redisSessionStore(t, client, nil)
	ctx := context.Background()
	c, err := roundTrip(t, ss, nil, func(st *state) { st.login(providers.Identity{UserID: "alice"}, time.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	sess, st := ss.load(r)
	if st.User == nil {
		t.Fatal("not signed in")
	}
	client.Del(ctx, redisKey(c)) // signed out meanwhile
	w := httptest.NewRecorder()
	if err := ss.save(w, r, sess, st); !errors.Is(err, errSessionEnded) {
		t.Errorf("save after sign-out: %v, want errSessionEnded", err)
	}
	if client.Exists(ctx, redisKey(c)).Val() != 0 {
		t.Error("the session was written back")
	}
	if cs := w.Result().Cookies(); len(cs) != 0 {
		t.Errorf("cookies set for an ended session: %v", cs)
	}
}

func TestRedisSessionCookieSignature(t *testing.T) {
	_, client := testRedis(t)
	old := strings.Repeat("o", 40)
	ss := redisSessionStore(t, client, func(c *SessionConfig) { c.Secret, c.PreviousSecrets = strings.Repeat("n", 40), []string{old} })
	oldStore := redisSessionStore(t, client, func(c *SessionConfig) { c.Secret = old })
	dropped := redisSessionStore(t, client, func(c *SessionConfig) { c.Secret = strings.Repeat("n", 40) })
	signIn := func(st *state) { st.login(providers.Identity{UserID: "alice"}, time.Now()) }
	signedIn := func(ss *sessionStore, c *http.Cookie) bool {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		_, st := ss.load(r)
		return st.User != nil
	}
	c, _ := roundTrip(t, ss, nil, signIn)
	id, sig, _ := strings.Cut(c.Value, ".")
	cOld, _ := roundTrip(t, oldStore, nil, signIn)
	for _, tt := range []struct {
		name  string
		value string
		want  bool
	}{
		{"as issued", c.Value, true},
		{"made with a previous secret", cOld.Value, true},
		{"no signature", id, false},
		{"another id, same signature", strings.Replace(id, id[:1], string(id[0]^1), 1) + "." + sig, false},
		{"truncated signature", id + "." + sig[:20], false},
		{"overlong", c.Value + strings.Repeat("A", maxCookieValue), false},
	} {
		if got := signedIn(ss, &http.Cookie{Name: sessionName, Value: tt.value}); got != tt.want {
			t.Errorf("%s: signed in %v, want %v", tt.name, got, tt.want)
		}
	}
	if signedIn(dropped, cOld) {
		t.Error("a session of a secret no longer listed is still valid")
	}
}

// TestRedisSessionRenewedAtSignIn: the pre-login id is deleted with the
// same write that stores the new one.
func TestRedisSessionRenewedAtSignIn(t *testing.T) {
	_, client := testRedis(t)
	ss := redisSessionStore(t, client, nil)
	before, err := roundTrip(t, ss, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := roundTrip(t, ss, before, func(st *state) { st.login(providers.Identity{UserID: "alice"}, time.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if redisKey(before) == redisKey(after) || client.Exists(ctx, redisKey(before)).Val() != 0 || client.Exists(ctx, redisKey(after)).Val() != 1 {
		t.Errorf("before %s (exists %d), after %s (exists %d)", redisKey(before), client.Exists(ctx, redisKey(before)).Val(),
			redisKey(after), client.Exists(ctx, redisKey(after)).Val())
	}
	// Later saves of the same sign-in keep its id.
	again, err := roundTrip(t, ss, after, nil)
	if err != nil || redisKey(again) != redisKey(after) {
		t.Errorf("a later save moved the session: %v, %v", redisKey(again), err)
	}
}

// TestRedisSessionClearedWhenDown: logout with Redis down still removes the
// browser's cookie, and says the session could not be deleted.
func TestRedisSessionClearedWhenDown(t *testing.T) {
	srv, client := testRedis(t)
	ss := redisSessionStore(t, client, nil)
	c, _ := roundTrip(t, ss, nil, func(st *state) { st.login(providers.Identity{UserID: "alice"}, time.Now()) })
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	sess, _ := ss.load(r)
	srv.Stop()
	w := httptest.NewRecorder()
	if err := ss.clear(w, r, sess); err == nil {
		t.Error("no error though the session could not be deleted")
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("cookies %v, want the session cookie expired", cs)
	}
}
