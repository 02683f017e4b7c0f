package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

const portal = "https://portal.example.com"

// signIn signs alice in through the hub, as a user of a portal would be.
func (s *stack) signIn(t *testing.T, b *webtest.Browser) {
	t.Helper()
	login := s.openHub(t, b, "")
	b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
}

// askTicket is a mashup script's fetch(POST /t/{id}/ticket, {credentials:
// "include"}) from origin ("" sends no Origin), with the custom header
// unless header is false.
func (s *stack) askTicket(t *testing.T, b *webtest.Browser, id, origin string, header bool) (webtest.Page, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/t/"+id+"/ticket", nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if origin == s.srv.URL {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
	}
	if header {
		req.Header.Set("X-Qlikgate-Request", "1")
	}
	p, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(p.Body), &body); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", p.Status, err, p.Body)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return p, body
}

func TestMashupTicketRedeemedAtHub(t *testing.T) {
	for _, tc := range []struct {
		name, origin string
		cors         bool
	}{
		{"same origin", "", false}, // filled in with qlikgate's own origin below
		{"embed origin", portal, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, withEmbedOrigins("sense", portal))
			b := webtest.NewBrowser()
			s.signIn(t, b)
			before := s.sim.Stats()
			origin := tc.origin
			if origin == "" {
				origin = s.srv.URL
			}
			p, body := s.askTicket(t, b, "sense", origin, true)
			ticket, _ := body["ticket"].(string)
			if p.Status != http.StatusOK || ticket == "" || body["expires_in"] != float64(60) {
				t.Fatalf("ticket answer %d %v, want 200 with a ticket and expires_in 60", p.Status, body)
			}
			if after := s.sim.Stats(); after.TicketsIssued != before.TicketsIssued+1 {
				t.Errorf("qliksim issued %d tickets, want 1", after.TicketsIssued-before.TicketsIssued)
			}
			wantACAO, wantACAC := "", ""
			if tc.cors {
				wantACAO, wantACAC = origin, "true"
			}
			if got := p.Header.Get("Access-Control-Allow-Origin"); got != wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, wantACAO)
			}
			if got := p.Header.Get("Access-Control-Allow-Credentials"); got != wantACAC {
				t.Errorf("Access-Control-Allow-Credentials = %q, want %q", got, wantACAC)
			}
			if !strings.Contains(strings.Join(p.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", p.Header.Values("Vary"))
			}
			// The mashup's own browser context opens Qlik with the ticket:
			// a fresh browser with no Qlik session lands as alice.
			hub := webtest.NewBrowser().MustGet(t, s.sim.HubURL()+"?qlikTicket="+ticket)
			if got := hub.HubUser(); got != `CORP\alice` {
				t.Fatalf("hub with the ticket: user %q (%d %s), want CORP\\alice", got, hub.Status, hub.URL)
			}
			logs := s.logs.String()
			if !strings.Contains(logs, "event=ticket_issued") {
				t.Error("no ticket_issued event in the log")
			}
			if strings.Contains(logs, ticket) {
				t.Error("the ticket appears in qlikgate's log")
			}
		})
	}
}

func TestMashupTicketRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		target   string
		origin   string // "self" is qlikgate's own
		header   bool
		signedIn bool
		status   int
		code     string
	}{
		{"not signed in", "sense", "self", true, false, http.StatusUnauthorized, "not_signed_in"},
		{"foreign origin", "sense", "https://evil.example.net", true, true, http.StatusForbidden, "origin_not_allowed"},
		{"origin null", "sense", "null", true, true, http.StatusForbidden, "origin_not_allowed"},
		{"look-alike of the portal", "sense", "https://portal.example.com.evil.net", true, true, http.StatusForbidden, "origin_not_allowed"},
		{"no custom header", "sense", "self", false, true, http.StatusForbidden, "header_missing"},
		{"no custom header from the portal", "sense", portal, false, true, http.StatusForbidden, "header_missing"},
		{"no custom header and no Origin", "sense", "", false, true, http.StatusForbidden, "header_missing"},
		{"target without tickets", "session", "self", true, true, http.StatusNotFound, "no_ticket_target"},
		{"unknown target", "nope", "self", true, true, http.StatusNotFound, "no_ticket_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, withEmbedOrigins("sense", portal))
			b := webtest.NewBrowser()
			if tc.signedIn {
				s.signIn(t, b)
			}
			before := s.sim.Stats()
			origin := tc.origin
			if origin == "self" {
				origin = s.srv.URL
			}
			p, body := s.askTicket(t, b, tc.target, origin, tc.header)
			if p.Status != tc.status || body["error"] != tc.code || body["ticket"] != nil {
				t.Fatalf("answer %d %v, want %d with error %q and no ticket", p.Status, body, tc.status, tc.code)
			}
			if after := s.sim.Stats(); after.TicketsIssued != before.TicketsIssued || after.QPSRequests != before.QPSRequests {
				t.Errorf("qliksim was asked for %d tickets (%d QPS requests), want none",
					after.TicketsIssued-before.TicketsIssued, after.QPSRequests-before.QPSRequests)
			}
			if tc.origin != portal && p.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("Access-Control-Allow-Origin = %q on an answer to %q", p.Header.Get("Access-Control-Allow-Origin"), origin)
			}
		})
	}
}

func TestMashupTicketPreflight(t *testing.T) {
	s := newStack(t, withEmbedOrigins("sense", portal))
	for _, tc := range []struct {
		name, target, origin, method string
		ok                           bool
	}{
		{"embed origin", "sense", portal, http.MethodPost, true},
		{"embed origin, other case and default port", "sense", "HTTPS://Portal.Example.com:443", http.MethodPost, true},
		{"foreign origin", "sense", "https://evil.example.net", http.MethodPost, false},
		{"embed origin asking for PUT", "sense", portal, http.MethodPut, false},
		{"target without embed origins", "session", portal, http.MethodPost, false},
		{"no Origin", "sense", "", http.MethodPost, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodOptions, s.srv.URL+"/t/"+tc.target+"/ticket", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			req.Header.Set("Access-Control-Request-Method", tc.method)
			req.Header.Set("Access-Control-Request-Headers", "x-qlikgate-request")
			p, err := webtest.NewBrowser().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			h := p.Header
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", h.Values("Vary"))
			}
			if !tc.ok {
				if p.Status != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Credentials") != "" {
					t.Fatalf("refused preflight: %d %v, want 403 without CORS headers", p.Status, h)
				}
				return
			}
			if p.Status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != tc.origin ||
				h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Allow-Methods") != "POST" ||
				!strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "X-Qlikgate-Request") {
				t.Fatalf("preflight: %d %v", p.Status, h)
			}
		})
	}
}

func TestMashupTicketAccessDenied(t *testing.T) {
	s := newStack(t, withAccess("sense", qlik.Access{DeniedGroups: []string{"eu"}}))
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	// The hand-off is refused, but alice is signed in to qlikgate.
	if p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); p.Status != http.StatusForbidden {
		t.Fatalf("login for a denied group: %d, want the 403 page", p.Status)
	}
	before := s.sim.Stats()
	p, body := s.askTicket(t, b, "sense", s.srv.URL, true)
	if p.Status != http.StatusForbidden || body["error"] != "access_denied" || body["ticket"] != nil {
		t.Fatalf("answer %d %v, want 403 access_denied", p.Status, body)
	}
	if after := s.sim.Stats(); after.TicketsIssued != before.TicketsIssued || after.TicketsIssued != 0 {
		t.Errorf("qliksim issued %d tickets for a denied user", after.TicketsIssued)
	}
	if !strings.Contains(s.logs.String(), "event=access_denied") {
		t.Error("no access_denied event in the log")
	}
}

func TestMashupTicketThrottled(t *testing.T) {
	s := newStack(t)
	b := webtest.NewBrowser()
	s.signIn(t, b)
	for i := range 30 {
		if p, body := s.askTicket(t, b, "sense", s.srv.URL, true); p.Status != http.StatusOK {
			t.Fatalf("ticket %d: %d %v, want 200", i+1, p.Status, body)
		}
	}
	before := s.sim.Stats()
	p, body := s.askTicket(t, b, "sense", s.srv.URL, true)
	if p.Status != http.StatusTooManyRequests || body["error"] != "too_many_requests" || p.Header.Get("Retry-After") == "" {
		t.Fatalf("31st ticket in a minute: %d %v Retry-After=%q, want 429 with Retry-After", p.Status, body, p.Header.Get("Retry-After"))
	}
	if after := s.sim.Stats(); after.TicketsIssued != before.TicketsIssued {
		t.Error("a throttled request still reached Qlik")
	}
	if !strings.Contains(s.logs.String(), "event=ticket_throttled") {
		t.Error("no ticket_throttled event in the log")
	}
	// Another user is not held back by alice's limit.
	other := webtest.NewBrowser()
	login := s.openHub(t, other, "")
	other.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "bob", "bobpw"))
	if p, body := s.askTicket(t, other, "sense", s.srv.URL, true); p.Status != http.StatusOK {
		t.Fatalf("bob's first ticket: %d %v, want 200", p.Status, body)
	}
	s.clock.Advance(61 * time.Second)
	if p, body := s.askTicket(t, b, "sense", s.srv.URL, true); p.Status != http.StatusOK {
		t.Fatalf("a minute later: %d %v, want 200", p.Status, body)
	}
}

// fakeTicketTarget issues tickets without Qlik, to show that one target's
// embed origins do not open another target's tickets.
type fakeTicketTarget struct {
	handoffBenchTarget
	id     string
	issued *atomic.Int64
}

func (f fakeTicketTarget) ID() string { return f.id }
func (f fakeTicketTarget) IssueTicket(context.Context, qlik.User) (qlik.Ticket, error) {
	f.issued.Add(1)
	return qlik.Ticket{Value: "fake-ticket", ExpiresIn: time.Minute}, nil
}

func TestMashupTicketOriginsArePerTarget(t *testing.T) {
	const other = "https://other.example.com"
	var issued atomic.Int64
	s := newStack(t, withEmbedOrigins("sense", portal), withEmbedOrigins("other", other),
		withTarget(func(testing.TB, string, *slog.Logger) qlik.Target {
			return fakeTicketTarget{id: "other", issued: &issued}
		}))
	b := webtest.NewBrowser()
	s.signIn(t, b)
	for _, tc := range []struct {
		target, origin string
		status         int
	}{
		{"sense", other, http.StatusForbidden},
		{"other", portal, http.StatusForbidden},
		{"other", other, http.StatusOK},
		{"sense", portal, http.StatusOK},
	} {
		p, body := s.askTicket(t, b, tc.target, tc.origin, true)
		if p.Status != tc.status {
			t.Errorf("%s from %s: %d %v, want %d", tc.target, tc.origin, p.Status, body, tc.status)
		}
		if tc.status != http.StatusOK && p.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s from %s: CORS headers on a refusal", tc.target, tc.origin)
		}
	}
	if n := issued.Load(); n != 1 {
		t.Errorf("the other target issued %d tickets, want 1", n)
	}
}

func TestEmbedOriginsRefusedAtStart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		embed  map[string][]string
		target qlik.Target
		want   string
	}{
		{"target without tickets", map[string][]string{"sense": {portal}}, handoffBenchTarget{}, "only for targets that issue tickets"},
		{"unknown target", map[string][]string{"nope": {portal}}, fakeTicketTarget{handoffBenchTarget{}, "sense", new(atomic.Int64)}, `"nope", which is not among the targets`},
		{"origin with a path", map[string][]string{"sense": {portal + "/app"}}, fakeTicketTarget{handoffBenchTarget{}, "sense", new(atomic.Int64)}, "not an origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wc := web.DefaultConfig()
			wc.Server.PublicURL = "https://auth.example.com/"
			wc.Session.Secret = strings.Repeat("s", 40)
			_, err := web.New(web.Options{Config: wc, Targets: []qlik.Target{tc.target}, DefaultTarget: "sense", EmbedOrigins: tc.embed})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "embed_origins") {
				t.Fatalf("web.New: %v, want an error about embed_origins saying %q", err, tc.want)
			}
		})
	}
}
