package qliksim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestQVAuthenticate(t *testing.T) {
	const try, back = "/QlikView/", "https://module.example/t/qv/"
	tests := []struct {
		name   string
		params func(tk string) map[string]string
		status int
		to     string // Location on 302
		used   bool   // the ticket was consumed
	}{
		{name: "valid ticket goes to try", status: http.StatusFound, to: try, used: true,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": try, "back": back}
			}},
		{name: "parameter names in any case", status: http.StatusFound, to: try, used: true,
			params: func(tk string) map[string]string {
				return map[string]string{"Type": "HTML", "WebTicket": tk, "TRY": try, "Back": back}
			}},
		{name: "try on the server's own host", status: http.StatusFound, used: true,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "SELF/QvAJAXZfc/opendoc.htm?document=a.qvw", "back": back}
			}},
		{name: "try on a SafeForwardList host", status: http.StatusFound, to: "https://portal.example/qv", used: true,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "https://portal.example/qv", "back": back}
			}},
		{name: "no back is allowed", status: http.StatusFound, to: try, used: true,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": try}
			}},
		{name: "unknown ticket goes to back", status: http.StatusFound, to: back,
			params: func(string) map[string]string {
				return map[string]string{"type": "html", "webticket": strings.Repeat("A", 40), "try": try, "back": back}
			}},
		{name: "missing ticket goes to back", status: http.StatusFound, to: back,
			params: func(string) map[string]string { return map[string]string{"type": "html", "try": try, "back": back} }},
		{name: "bad ticket without back", status: http.StatusForbidden,
			params: func(string) map[string]string { return map[string]string{"type": "html", "webticket": "x", "try": try} }},

		{name: "type missing", status: http.StatusBadRequest,
			params: func(tk string) map[string]string { return map[string]string{"webticket": tk, "try": try, "back": back} }},
		{name: "type not html", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "json", "webticket": tk, "try": try, "back": back}
			}},
		{name: "try missing", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "back": back}
			}},
		{name: "try to a foreign host", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "https://evil.example/", "back": back}
			}},
		{name: "try scheme-relative", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "//evil.example/", "back": back}
			}},
		{name: "try slash-backslash", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": `/\evil.example/`, "back": back}
			}},
		{name: "try with a tab that browsers drop", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "/\t/evil.example/", "back": back}
			}},
		{name: "try relative without slash", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "QlikView/", "back": back}
			}},
		{name: "try javascript:", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "javascript:alert(1)", "back": back}
			}},
		{name: "try with user info", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": "https://portal.example@evil.example/", "back": back}
			}},
		{name: "back to a foreign host", status: http.StatusBadRequest,
			params: func(tk string) map[string]string {
				return map[string]string{"type": "html", "webticket": tk, "try": try, "back": "https://evil.example/"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := newQV(t, QlikViewOptions{
				TrustedIPs:       []string{"127.0.0.1"},
				SafeForwardHosts: []string{"module.example", "PORTAL.example"},
			})
			c := qvClient(t)
			tk := qvGetTicket(t, q, c, qvSimpleRequest)
			params := tt.params(tk)
			want := tt.to
			if p, ok := params["try"]; ok && strings.HasPrefix(p, "SELF") {
				params["try"] = q.URL() + strings.TrimPrefix(p, "SELF")
				want = params["try"]
			}
			r := do(t, c, http.MethodGet, qvAuthURL(q, params), "", nil)
			if r.status != tt.status {
				t.Fatalf("status %d (body %q), want %d", r.status, r.body, tt.status)
			}
			if tt.status == http.StatusFound {
				qvExpectRedirect(t, r, want)
			}
			st := q.Stats()
			if got := st.TicketsConsumed == 1; got != tt.used {
				t.Fatalf("ticket consumed = %v, want %v (stats %+v)", got, tt.used, st)
			}
			if tt.used != (len(q.Sessions()) == 1) {
				t.Fatalf("sessions %+v", q.Sessions())
			}
			if tt.used {
				if r.header.Get("Set-Cookie") == "" {
					t.Fatal("no session cookie set")
				}
				return
			}
			if r.header.Get("Set-Cookie") != "" {
				t.Fatalf("a refused request set a cookie: %q", r.header.Get("Set-Cookie"))
			}
			if tt.status == http.StatusBadRequest {
				// Refused before the ticket was looked at: it still works.
				ok := do(t, c, http.MethodGet, qvAuthURL(q, map[string]string{"type": "html", "webticket": tk, "try": try}), "", nil)
				qvExpectRedirect(t, ok, try)
			}
		})
	}
}

func TestQVAuthenticateTicketOnce(t *testing.T) {
	q, clock := newQV(t, QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}})
	c := qvClient(t)
	auth := func(tk string) response {
		return do(t, c, http.MethodGet, qvAuthURL(q, map[string]string{"type": "html", "webticket": tk, "try": "/QlikView/", "back": "/back"}), "", nil)
	}

	tk := qvGetTicket(t, q, c, qvSimpleRequest)
	qvExpectRedirect(t, auth(tk), "/QlikView/")
	qvExpectRedirect(t, auth(tk), "/back") // replay

	tk = qvGetTicket(t, q, c, qvSimpleRequest)
	clock.Advance(59 * time.Second)
	qvExpectRedirect(t, auth(tk), "/QlikView/") // still valid just before the TTL

	tk = qvGetTicket(t, q, c, qvSimpleRequest)
	clock.Advance(60 * time.Second)
	qvExpectRedirect(t, auth(tk), "/back") // expired

	if st := q.Stats(); st.TicketsIssued != 3 || st.TicketsConsumed != 2 || st.TicketsRejected != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestQVAuthenticateRefusals(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}})
	c := qvClient(t)
	tk := qvGetTicket(t, q, c, qvSimpleRequest)
	base := "type=html&try=%2FQlikView%2F&webticket=" + tk
	for name, raw := range map[string]string{
		"repeated try":         base + "&try=%2Fother",
		"same name other case": base + "&TRY=%2Fother",
		"malformed query":      base + "&back=%zz",
	} {
		t.Run(name, func(t *testing.T) {
			r := do(t, c, http.MethodGet, q.AuthenticateURL()+"?"+raw, "", nil)
			if r.status != http.StatusBadRequest {
				t.Fatalf("got %d %q, want 400", r.status, r.body)
			}
		})
	}
	t.Run("POST", func(t *testing.T) {
		if r := do(t, c, http.MethodPost, q.AuthenticateURL()+"?"+base, "", nil); r.status != http.StatusMethodNotAllowed {
			t.Fatalf("got %d", r.status)
		}
	})
}

func TestQVSetSafeForwardHosts(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}})
	c := qvClient(t)
	auth := func() response {
		tk := qvGetTicket(t, q, c, qvSimpleRequest)
		return do(t, c, http.MethodGet, qvAuthURL(q, map[string]string{"type": "html", "webticket": tk, "try": "https://portal.example:8443/qv"}), "", nil)
	}
	if r := auth(); r.status != http.StatusBadRequest {
		t.Fatalf("unlisted host: %d", r.status)
	}
	q.SetSafeForwardHosts([]string{"portal.example:8443"})
	qvExpectRedirect(t, auth(), "https://portal.example:8443/qv")
	q.SetSafeForwardHosts([]string{"portal.example:443"})
	if r := auth(); r.status != http.StatusBadRequest {
		t.Fatalf("host listed with another port: %d", r.status)
	}
}
