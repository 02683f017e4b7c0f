package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestEveryLineOfARequestCarriesItsID: the lines the directory and the Qlik
// client write while serving a request say which request, as the web
// layer's own do, and none says it twice. Each step is one request to
// qlikgate (redirects are not followed), so every line logged during it
// belongs to it.
func TestEveryLineOfARequestCarriesItsID(t *testing.T) {
	sl := needSlapd(t)
	s := newStack(t, withLDAP(sl, sl.URL))
	b := webtest.NewBrowser()
	nb := b.NoFollow()
	login := s.openHub(t, b, "stream/7")

	tests := []struct {
		name string
		// do sends one request to qlikgate and returns its answer.
		do func(t *testing.T) webtest.Page
		// want are messages that must be among the request's lines.
		want []string
	}{
		{
			name: "LDAP login",
			do: func(t *testing.T) webtest.Page {
				f := login.MustLoginForm(t, "alice", "alicepass")
				f.Set("provider", "corp")
				return nb.MustPostForm(t, s.srv.URL+"/login", f)
			},
			want: []string{`msg="ldap: user found"`, `msg="ldap: user bind accepted"`, `msg="login succeeded"`, `msg="handed off to Qlik"`},
		},
		{
			name: "Sense hand-off",
			do: func(t *testing.T) webtest.Page {
				// The ticket was not redeemed, so Qlik sends the browser
				// back with a targetId (qliksim logs to the test, not here).
				p := nb.MustGet(t, s.sim.HubURL()+"stream/7")
				entry := p.Header.Get("Location")
				if p.Status != http.StatusFound || !strings.HasPrefix(entry, s.srv.URL) {
					t.Fatalf("the hub did not send the browser to qlikgate: %d %s", p.Status, entry)
				}
				s.clock.Advance(15 * time.Minute) // the QPS forgets the targetId: qlik/sense logs its fallback
				return nb.MustGet(t, entry)
			},
			want: []string{`msg="QPS refused the targetId; sending the user to the hub"`, `msg="handed off to Qlik"`},
		},
	}
	ridRE := regexp.MustCompile(`\brequest_id=(\S*)`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.logs.String())
			p := tt.do(t)
			if p.Status != http.StatusFound || !strings.Contains(p.Header.Get("Location"), "qlikTicket=") {
				t.Fatalf("not handed off to Qlik: %d %s\n%s", p.Status, p.Header.Get("Location"), p.Body)
			}
			rid := p.Header.Get("X-Request-Id")
			if rid == "" {
				t.Fatal("the answer has no X-Request-Id")
			}
			lines := strings.Split(strings.TrimSpace(s.logs.String()[before:]), "\n")
			for _, l := range lines {
				ids := ridRE.FindAllStringSubmatch(l, -1)
				if len(ids) != 1 || ids[0][1] != rid {
					t.Errorf("want request_id=%s once, got %v in:\n%s", rid, ids, l)
				}
				if strings.Count(l, "remote_ip=127.0.0.1") != 1 {
					t.Errorf("want remote_ip=127.0.0.1 once in:\n%s", l)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.Join(lines, "\n"), w) {
					t.Errorf("no line %s among the request's:\n%s", w, strings.Join(lines, "\n"))
				}
			}
		})
	}
}
