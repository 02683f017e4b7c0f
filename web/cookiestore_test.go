package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
)

// cookieStoreAt is a session store with this secret (and previous ones)
// whose clock reads *now.
func cookieStoreAt(t *testing.T, now *time.Time, secret string, previous ...string) *sessionStore {
	t.Helper()
	cfg := DefaultConfig().Session
	cfg.Secret, cfg.PreviousSecrets = secret, previous
	s, err := newSessionStore(cfg, "/", true, http.SameSiteLaxMode, func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sessionCookie saves st with s and returns the Set-Cookie it wrote.
func sessionCookie(t *testing.T, s *sessionStore, st *state) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, _ := s.load(r)
	w := httptest.NewRecorder()
	if err := s.save(w, r, sess, st); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionName {
			return c
		}
	}
	t.Fatal("save set no session cookie")
	return nil
}

// loadWith returns the state s reads from a request carrying cookie.
func loadWith(s *sessionStore, cookie *http.Cookie) *state {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	_, st := s.load(r)
	return st
}

// legacyCookie is the cookie gorilla's CookieStore wrote before
// sealedCookies, with the same keys newSessionStore derived then.
func legacyCookie(t *testing.T, s *sessionStore, st *state) *http.Cookie {
	t.Helper()
	cs := &sessions.CookieStore{Codecs: s.store.(*sealedCookies).legacy, Options: &s.options}
	sess := sessions.NewSession(cs, sessionName)
	sess.Options = &s.options
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	sess.Values[stateKey] = raw
	w := httptest.NewRecorder()
	if err := cs.Save(httptest.NewRequest(http.MethodGet, "/", nil), w, sess); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if strings.HasPrefix(c.Value, sealedPrefix) {
		t.Fatalf("gorilla's cookie %q looks like a sealed one", c.Value)
	}
	return c
}

// issuedAt is st's cookie sealed by s as if at issued (system time).
func issuedAt(t *testing.T, s *sessionStore, st *state, issued time.Time) *http.Cookie {
	t.Helper()
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.store.(*sealedCookies).sealAt(sessionName, raw, issued)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sessionName, Value: v}
}

func TestSealedCookies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	secret, old := strings.Repeat("n", 40), strings.Repeat("o", 40)
	s := cookieStoreAt(t, &now, secret, old)
	st := benchSessionState(now)
	good := sessionCookie(t, s, st)
	if !strings.HasPrefix(good.Value, sealedPrefix) {
		t.Fatalf("the session cookie %q is not sealed by sealedCookies", good.Value)
	}
	if !good.HttpOnly || !good.Secure || good.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie flags: HttpOnly %v Secure %v SameSite %v", good.HttpOnly, good.Secure, good.SameSite)
	}
	byOld := sessionCookie(t, cookieStoreAt(t, &now, old), st)
	stranger := sessionCookie(t, cookieStoreAt(t, &now, strings.Repeat("x", 40)), st)
	flip := func(c *http.Cookie, i int) *http.Cookie {
		v := []byte(c.Value)
		if v[i] == 'A' {
			v[i] = 'B'
		} else {
			v[i] = 'A'
		}
		return &http.Cookie{Name: c.Name, Value: string(v)}
	}
	for _, tc := range []struct {
		name     string
		cookie   *http.Cookie
		at       time.Time
		signedIn bool
	}{
		{"sealed now", good, now, true},
		{"sealed with a previous secret", byOld, now, true},
		{"gorilla's cookie of before (upgrade)", legacyCookie(t, s, st), now, true},
		{"gorilla's cookie of a previous secret", legacyCookie(t, cookieStoreAt(t, &now, old), st), now, true},
		{"another secret", stranger, now, false},
		{"a flipped nonce byte", flip(good, len(sealedPrefix)+2), now, false},
		{"a flipped ciphertext byte", flip(good, len(good.Value)/2), now, false},
		{"a flipped tag byte", flip(good, len(good.Value)-3), now, false},
		{"truncated", &http.Cookie{Name: sessionName, Value: good.Value[:len(sealedPrefix)+20]}, now, false},
		{"not base64", &http.Cookie{Name: sessionName, Value: sealedPrefix + "!!!!"}, now, false},
		{"too long", &http.Cookie{Name: sessionName, Value: good.Value + strings.Repeat("A", maxSealedValue)}, now, false},
		{"the sign-in's lifetime is over", good, now.Add(s.lifetime + time.Second), false},
		{"older than the cookie's max age", issuedAt(t, s, st, time.Now().Add(-s.lifetime-time.Minute)), now, false},
		{"just within the cookie's max age", issuedAt(t, s, st, time.Now().Add(-s.lifetime+time.Minute)), now, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			r := cookieStoreAt(t, &at, secret, old)
			got := loadWith(r, tc.cookie)
			if signedIn := got.User != nil; signedIn != tc.signedIn {
				t.Fatalf("signed in: %v, want %v", signedIn, tc.signedIn)
			}
			if tc.signedIn && (got.SID != st.SID || got.CSRF != st.CSRF || got.User.UserID != "alice" || len(got.Flows) != 1) {
				t.Errorf("read back %+v, want %+v", got, st)
			}
			if !tc.signedIn && got.SID == st.SID {
				t.Error("a refused cookie kept its SID")
			}
		})
	}
}

// TestSealedCookieBoundToName: a value sealed for one cookie name does not
// open as another (the name is GCM's additional data).
func TestSealedCookieBoundToName(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := cookieStoreAt(t, &now, strings.Repeat("n", 40))
	sc := s.store.(*sealedCookies)
	v, err := sc.seal("other", []byte(`{"sid":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.open(sessionName, v); err == nil {
		t.Fatal("a value sealed for the cookie \"other\" opened as the session cookie")
	}
	if raw, err := sc.open("other", v); err != nil || string(raw) != `{"sid":"x"}` {
		t.Fatalf("open = %q, %v", raw, err)
	}
}
