package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// benchSessionState is a signed-in browser as a hand-off sees it: an LDAP
// identity with groups and an attribute, one pending entry from Qlik.
func benchSessionState(now time.Time) *state {
	st := &state{SID: randomID(), CSRF: randomID()}
	st.login(providers.Identity{
		Provider: "corp", Directory: "CORP", Subject: "uid=alice,ou=people,dc=example,dc=org", UserID: "alice",
		Name: "Alice Example", Email: "alice@example.org", Groups: []string{"Sales", "EU", "Analysts"},
		Attributes: map[string][]string{"Department": {"D-42"}},
	}, now)
	st.addTarget("sense")
	st.addFlow("sense", qlik.Entry{TargetID: "0f7d9a4e-3c1b-4e8a-9b2d-5a6c7e8f9012", ProxyRestURI: "https://sense.corp.local:4243/qps/hr/"}, now)
	return st
}

func benchSessionStore(b testing.TB) *sessionStore {
	b.Helper()
	cfg := DefaultConfig().Session
	cfg.Secret = strings.Repeat("s", 40)
	s, err := newSessionStore(cfg, "/", true, http.SameSiteLaxMode, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSessionSave encodes the state into the session cookie: JSON,
// then gorilla securecookie (AES-CTR, HMAC-SHA256, base64; no gob) and the
// Set-Cookie header. Logins and changed sessions do it once; a single
// sign-on pass-through does not.
func BenchmarkSessionSave(b *testing.B) {
	s := benchSessionStore(b)
	st := benchSessionState(time.Now())
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, _ := s.load(r)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := s.save(w, r, sess, st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionLoad decodes a signed-in browser's cookie: the reverse of
// BenchmarkSessionSave, plus the expiry and revocation checks. Every
// request with a cookie does it once.
func BenchmarkSessionLoad(b *testing.B) {
	s := benchSessionStore(b)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, _ := s.load(r)
	w := httptest.NewRecorder()
	if err := s.save(w, r, sess, benchSessionState(time.Now())); err != nil {
		b.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(cookie)
		if _, st := s.load(r); st.User == nil {
			b.Fatal("the session did not decode to a signed-in user")
		}
	}
	b.ReportMetric(float64(len(cookie.Value)), "cookie-bytes")
}
