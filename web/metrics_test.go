package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

func TestMetrics(t *testing.T) {
	s := newStack(t, withWeb(func(c *web.Config) { c.Security.FailureDelay, c.Security.MaxAttempts = 0, 1 }))
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "bob", "wrong"))
	p = b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "bob", "wrong")) // throttled
	if p.Status != http.StatusTooManyRequests {
		t.Fatalf("second failure: %d", p.Status)
	}
	if hub := b.MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("login: %d", hub.Status)
	}
	m := b.MustGet(t, s.srv.URL+"/metrics")
	if m.Status != http.StatusOK {
		t.Fatalf("/metrics: %d", m.Status)
	}
	for _, want := range []string{
		`qlikgate_logins_total{kind="static",provider="local",result="bad_credentials"} 1`,
		`qlikgate_logins_total{kind="static",provider="local",result="success"} 1`,
		`qlikgate_logins_total{kind="static",provider="local",result="throttled"} 1`,
		`qlikgate_login_throttled_total{provider="local"} 1`,
		`qlikgate_handoffs_total{kind="sense-ticket",result="success",target="sense"} 1`,
		`qlikgate_upstream_request_duration_seconds_count{id="sense",upstream="sense-ticket"} 1`,
		`qlikgate_build_info{`,
		`go_goroutines `,
	} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
