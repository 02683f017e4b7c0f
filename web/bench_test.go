package web_test

import (
	"net/http"
	"testing"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// BenchmarkSSOHandoff measures a hand-off for a browser that already has a
// qlikgate session: entry request, session decode, QPS ticket over the
// reused mutual-TLS connection, redirect (the unchanged session is not
// encoded again). Every request replays the same signed-in cookie and no
// loop counter (as many browsers of one user would), so the per-browser
// redirect-loop guard does not count them up.
func BenchmarkSSOHandoff(b *testing.B) {
	s := newStack(b)
	br := webtest.NewBrowser()
	login := br.MustGet(b, s.srv.URL+"/")
	br.NoFollow().MustPostForm(b, s.srv.URL+"/login", login.MustLoginForm(b, "alice", "alicepw"))
	cookie := br.Cookie(s.srv.URL, "qlikgate")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/", nil)
			req.AddCookie(cookie)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				b.Errorf("hand-off: %d", resp.StatusCode)
				return
			}
		}
	})
}
