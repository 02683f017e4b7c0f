package web

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWriteLoopIsSetCookie: the Set-Cookie writeLoop builds from its
// pre-rendered attributes is exactly what http.SetCookie writes for the
// count cookie, for every scope and SameSite mode the session can have.
func TestWriteLoopIsSetCookie(t *testing.T) {
	for _, tc := range []struct {
		path     string
		secure   bool
		sameSite http.SameSite
	}{
		{"/", true, http.SameSiteLaxMode},
		{"/auth/", false, http.SameSiteLaxMode},
		{"/qlik/gate/", true, http.SameSiteNoneMode},
	} {
		cfg := DefaultConfig().Session
		cfg.Secret = strings.Repeat("s", 40)
		s, err := newSessionStore(cfg, tc.path, tc.secure, tc.sameSite, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		sid := randomID()
		for _, lc := range []loopCount{{start: 1_800_000_000_123, n: 1}, {start: 1, n: 7}} {
			w := httptest.NewRecorder()
			s.writeLoop(w, sid, lc)
			value := strconv.FormatInt(lc.start, 10) + "." + strconv.Itoa(lc.n) + "." + s.loopMAC(sid, lc)
			want := httptest.NewRecorder()
			http.SetCookie(want, s.loopCookie(value, int(loopWindow/time.Second)))
			if got, want := w.Header().Values("Set-Cookie"), want.Header().Values("Set-Cookie"); len(got) != 1 || got[0] != want[0] {
				t.Errorf("%s: writeLoop set %q, http.SetCookie %q", tc.path, got, want)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Cookie", strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0])
			if got := s.readLoop(r, sid); got != lc {
				t.Errorf("%s: read back %+v, want %+v", tc.path, got, lc)
			}
		}
	}
}
