package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzLoopCookie: whatever a browser sends as the redirect-loop counter,
// reading it never fails, and only the exact value qlikgate signed for
// this session counts; a count qlikgate wrote reads back as written.
func FuzzLoopCookie(f *testing.F) {
	cfg := DefaultConfig().Session
	cfg.Secret = strings.Repeat("k", 40)
	s, err := newSessionStore(cfg, "/", true, http.SameSiteLaxMode, time.Now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("1764000000000.3.AAAAAAAAAAAAAAAAAAAAAA", "SID", int64(1764000000000), 3)
	f.Add("", "", int64(0), 1)
	f.Add("..", "x", int64(-1), 7)
	f.Add("9223372036854775807.2147483647.", "y", int64(1), 1<<30)
	f.Fuzz(func(t *testing.T, value, sid string, start int64, n int) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", loopCookie+"="+value)
		if got := s.readLoop(r, sid); got.n != 0 {
			w := httptest.NewRecorder()
			s.writeLoop(w, sid, got)
			if want := w.Result().Cookies()[0].Value; value != want {
				t.Fatalf("accepted %q for %q; qlikgate writes that count as %q", value, sid, want)
			}
		}
		if n < 1 {
			return
		}
		w := httptest.NewRecorder()
		s.writeLoop(w, sid, loopCount{start: start, n: n})
		back := httptest.NewRequest(http.MethodGet, "/", nil)
		back.AddCookie(w.Result().Cookies()[0])
		if got := s.readLoop(back, sid); got != (loopCount{start: start, n: n}) {
			t.Fatalf("wrote {%d %d} for %q, read back %+v", start, n, sid, got)
		}
		if sid != "" {
			if got := s.readLoop(back, sid+"x"); got.n != 0 {
				t.Fatalf("a count for %q was accepted for another session", sid)
			}
		}
	})
}
