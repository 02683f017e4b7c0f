package qliksim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedirectToModule(t *testing.T) {
	tests := []struct {
		name, prefix, module, wantModuleQuery string
	}{
		{"prefixed virtual proxy", "hr", testModule, ""},
		{"default virtual proxy", "", testModule, ""},
		{"module URL with a query", "hr", testModule + "?idp=corp", "idp=corp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSenseOpts(t, SenseOptions{Prefix: tt.prefix, ModuleURL: tt.module})
			raw, targetID := moduleRedirect(t, s, browser(t, s), s.HubURL()+"stream/mine")

			// The proxy encodes proxyRestUri with lower-case hex escapes.
			host := strings.TrimPrefix(strings.TrimSuffix(s.ProxyRestURI(), "/"), "https://")
			host = strings.ReplaceAll(strings.Split(host, "/")[0], ":", "%3a")
			wantEnc := "proxyRestUri=https%3a%2f%2f" + host + "%2fqps%2f"
			if tt.prefix != "" {
				wantEnc += tt.prefix + "%2f"
			}
			if !strings.Contains(raw, wantEnc+"&") {
				t.Errorf("raw query %q does not hold %q", raw, wantEnc)
			}
			if strings.Contains(raw, "%3A") || strings.Contains(raw, "%2F") {
				t.Errorf("raw query %q has upper-case escapes", raw)
			}
			q, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Get("proxyRestUri"); got != s.ProxyRestURI() || !strings.HasSuffix(got, "/") {
				t.Errorf("decoded proxyRestUri %q, want %q with a trailing slash", got, s.ProxyRestURI())
			}
			if !guidRE.MatchString(targetID) {
				t.Errorf("targetId %q is not a v4 GUID", targetID)
			}
			if tt.wantModuleQuery != "" && !strings.HasPrefix(raw, tt.wantModuleQuery+"&") {
				t.Errorf("module's own query lost: %q", raw)
			}

			_, second := moduleRedirect(t, s, browser(t, s), s.HubURL())
			if second == targetID {
				t.Error("two redirects share a targetId")
			}
		})
	}
}

func TestTargetURIIsRequestedURL(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	tests := []struct {
		name, requested, want string
	}{
		{"hub root", s.HubURL(), s.HubURL()},
		{"deep link with query", s.HubURL() + "my/work?sheet=1&x=a%20b", s.HubURL() + "my/work?sheet=1&x=a%20b"},
		{"app URL", strings.TrimSuffix(s.HubURL(), "hub/") + "sense/app/0d3e/sheet/1", strings.TrimSuffix(s.HubURL(), "hub/") + "sense/app/0d3e/sheet/1"},
		{"stale ticket stripped", s.HubURL() + "stream?a=1&QlikTicket=AAAAbbbbCCCCdddd&b=2", s.HubURL() + "stream?a=1&b=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, targetID := moduleRedirect(t, s, browser(t, s), tt.requested)
			tr := issueTicket(t, s, c, `{"UserDirectory":"CORP","UserId":"jdoe","TargetId":"`+targetID+`"}`)
			if tr.TargetUri != tt.want {
				t.Errorf("TargetUri %q, want %q", tr.TargetUri, tt.want)
			}
		})
	}
}

func TestTicketLogin(t *testing.T) {
	for _, hubTLS := range []bool{false, true} {
		for _, param := range []string{"qlikTicket", "QlikTicket", "qlikticket", "QLIKTICKET"} {
			name := param + "/http"
			if hubTLS {
				name = param + "/https"
			}
			t.Run(name, func(t *testing.T) {
				s, _ := newSenseOpts(t, SenseOptions{Prefix: "hr", ModuleURL: testModule, HubTLS: hubTLS})
				b := browser(t, s)
				_, targetID := moduleRedirect(t, s, b, s.HubURL()+"my/work")
				tr := issueTicket(t, s, qpsClient(t, s), `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{"group":"Sales"},{"group":"R&D"}],"TargetId":"`+targetID+`"}`)

				r := do(t, b, http.MethodGet, withTicket(t, tr.TargetUri, param, tr.Ticket), "", nil)
				if r.status != http.StatusOK {
					t.Fatalf("status %d, body %q; want 200", r.status, r.body)
				}
				for _, want := range []string{`<h1 id="user">CORP\jdoe</h1>`, `<li>group=Sales</li>`, `<li>group=R&amp;D</li>`, `<p id="path">/hr/hub/my/work</p>`} {
					if !strings.Contains(r.body, want) {
						t.Errorf("hub page lacks %s:\n%s", want, r.body)
					}
				}
				ck := sessionCookieOf(t, s, r)
				if !guidRE.MatchString(ck.Value) || ck.Path != "/" || !ck.HttpOnly || ck.Secure != hubTLS {
					t.Errorf("cookie %+v: want a GUID, Path=/, HttpOnly, Secure=%v", ck, hubTLS)
				}
				sd, ok := s.Session(ck.Value)
				if !ok || sd.UserDirectory != "CORP" || sd.UserId != "jdoe" || len(sd.Attributes) != 2 || sd.SessionId != ck.Value {
					t.Errorf("Session(%s) = %+v, %v", ck.Value, sd, ok)
				}

				// The cookie alone now opens any page of the virtual proxy.
				r = do(t, b, http.MethodGet, s.HubURL()+"other", "", cookieHeader(s, ck.Value))
				if r.status != http.StatusOK || !strings.Contains(r.body, `<p id="path">/hr/hub/other</p>`) {
					t.Errorf("with cookie: status %d, body %q", r.status, r.body)
				}
				if st := s.Stats(); st.TicketsConsumed != 1 || st.SessionsCreated != 1 || st.TicketsRejected != 0 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

func TestTicketRejected(t *testing.T) {
	tests := []struct {
		name string
		// use presents the ticket; it returns the hub's response
		use func(t *testing.T, s *Sense, clock *fakeClock, b *http.Client, tk string) response
	}{
		{"used twice", func(t *testing.T, s *Sense, _ *fakeClock, b *http.Client, tk string) response {
			if r := do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil); r.status != http.StatusOK {
				t.Fatalf("first use: status %d", r.status)
			}
			return do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil)
		}},
		{"expired", func(t *testing.T, s *Sense, clock *fakeClock, b *http.Client, tk string) response {
			clock.Advance(61 * time.Second)
			return do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil)
		}},
		{"unknown", func(t *testing.T, s *Sense, _ *fakeClock, b *http.Client, tk string) response {
			// Another first character: "X"+tk[1:] was the ticket itself
			// whenever it began with X.
			first := "X"
			if tk[0] == 'X' {
				first = "Y"
			}
			return do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", first+tk[1:]), "", nil)
		}},
		{"given twice", func(t *testing.T, s *Sense, _ *fakeClock, b *http.Client, tk string) response {
			return do(t, b, http.MethodGet, s.HubURL()+"?qlikTicket="+tk+"&QlikTicket="+tk, "", nil)
		}},
		{"valid session cookie does not rescue a bad ticket", func(t *testing.T, s *Sense, _ *fakeClock, b *http.Client, tk string) response {
			r := do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil)
			id := sessionCookieOf(t, s, r).Value
			return do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", cookieHeader(s, id))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newSense(t)
			b := browser(t, s)
			tk := issueTicket(t, s, qpsClient(t, s), simpleTicket).Ticket
			r := tt.use(t, s, clock, b, tk)
			_, targetID := expectModuleRedirect(t, r)
			if !guidRE.MatchString(targetID) {
				t.Errorf("targetId %q", targetID)
			}
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Errorf("rejected ticket set cookies %q", r.header.Values("Set-Cookie"))
			}
			if st := s.Stats(); st.TicketsRejected != 1 {
				t.Errorf("stats %+v, want 1 rejected ticket", st)
			}
		})
	}
}

func TestTicketValidUntilTTL(t *testing.T) {
	s, clock := newSenseOpts(t, SenseOptions{Prefix: "hr", ModuleURL: testModule, TicketTTL: 2 * time.Minute})
	tk := issueTicket(t, s, qpsClient(t, s), simpleTicket).Ticket
	clock.Advance(2*time.Minute - time.Second)
	if r := do(t, browser(t, s), http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil); r.status != http.StatusOK {
		t.Errorf("ticket 1s before its TTL: status %d, want 200", r.status)
	}
}

func TestCookieName(t *testing.T) {
	tests := []struct {
		prefix  string
		hubTLS  bool
		want    string
		hubPath string
	}{
		{"hr", false, "X-Qlik-Session-hr-HTTP", "/hr/hub/"},
		{"", false, "X-Qlik-Session-HTTP", "/hub/"},
		{"hr", true, "X-Qlik-Session-hr", "/hr/hub/"},
		{"", true, "X-Qlik-Session", "/hub/"},
	}
	for _, tt := range tests {
		s, _ := newSenseOpts(t, SenseOptions{Prefix: tt.prefix, HubTLS: tt.hubTLS, ModuleURL: testModule})
		if got := s.CookieName(); got != tt.want {
			t.Errorf("prefix %q, TLS %v: CookieName %q, want %q", tt.prefix, tt.hubTLS, got, tt.want)
		}
		u, err := url.Parse(s.HubURL())
		if err != nil || u.Path != tt.hubPath || (u.Scheme == "https") != tt.hubTLS {
			t.Errorf("HubURL %q, want path %q", s.HubURL(), tt.hubPath)
		}
	}
}

func TestHubRefusesOtherCookies(t *testing.T) {
	s, _ := newSense(t)
	b := browser(t, s)
	tk := issueTicket(t, s, qpsClient(t, s), simpleTicket).Ticket
	id := sessionCookieOf(t, s, do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil)).Value
	for _, cookie := range []string{
		"X-Qlik-Session-hr=" + id, // the HTTPS name on plain HTTP
		"X-Qlik-Session-HTTP=" + id,
		s.CookieName() + "=" + strings.ToUpper(id),
		s.CookieName() + "=",
	} {
		expectModuleRedirect(t, do(t, b, http.MethodGet, s.HubURL(), "", http.Header{"Cookie": {cookie}}))
	}
}

func TestHubWithoutModule(t *testing.T) {
	s, _ := newSenseOpts(t, SenseOptions{Prefix: "hr"})
	b := browser(t, s)
	r := do(t, b, http.MethodGet, s.HubURL(), "", nil)
	if r.status != http.StatusServiceUnavailable || r.body != "no authentication module configured" {
		t.Errorf("status %d, body %q; want 503", r.status, r.body)
	}
	s.SetModuleURL(testModule)
	moduleRedirect(t, s, b, s.HubURL())
}

func TestHubPaths(t *testing.T) {
	s, _ := newSense(t)
	b := browser(t, s)
	root := strings.TrimSuffix(s.HubURL(), "/hr/hub/")
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"other prefix", http.MethodGet, "/sales/hub/", http.StatusNotFound},
		{"no prefix", http.MethodGet, "/hub/", http.StatusNotFound},
		{"prefix itself", http.MethodGet, "/hr", http.StatusFound},
		{"resource", http.MethodGet, "/hr/resources/autogenerated/qlik-styles.css", http.StatusFound},
		{"unknown qps path", http.MethodGet, "/hr/qps/ticket", http.StatusNotFound},
		{"POST without session", http.MethodPost, "/hr/hub/", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if r := do(t, b, tt.method, root+tt.path, "", nil); r.status != tt.want {
			t.Errorf("%s: %s %s: status %d, want %d", tt.name, tt.method, tt.path, r.status, tt.want)
		}
	}
}

func TestHubEscapesUser(t *testing.T) {
	s, _ := newSense(t)
	tk := issueTicket(t, s, qpsClient(t, s), `{"UserDirectory":"CORP","UserId":"<b>x</b>","Attributes":[{"a<":"\"v\""}]}`).Ticket
	r := do(t, browser(t, s), http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil)
	if !strings.Contains(r.body, `CORP\&lt;b&gt;x&lt;/b&gt;`) || strings.Contains(r.body, "<b>") {
		t.Errorf("user not escaped:\n%s", r.body)
	}
	if !strings.Contains(r.body, `<li>a&lt;=&#34;v&#34;</li>`) {
		t.Errorf("attribute not escaped:\n%s", r.body)
	}
}

func TestPersonalAPI(t *testing.T) {
	s, _ := newSense(t)
	b := browser(t, s)
	userURL := strings.TrimSuffix(s.HubURL(), "hub/") + "qps/user"
	getJSON := func(method string, h http.Header) map[string]string {
		t.Helper()
		r := do(t, b, method, userURL, "", h)
		if r.status != http.StatusOK {
			t.Fatalf("%s qps/user: status %d, body %q", method, r.status, r.body)
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(r.body), &m); err != nil {
			t.Fatalf("%s qps/user: %v in %q", method, err, r.body)
		}
		return m
	}

	if m := getJSON(http.MethodGet, nil); m["session"] != "inactive" {
		t.Errorf("anonymous: %v, want session inactive", m)
	}
	tk := issueTicket(t, s, qpsClient(t, s), simpleTicket).Ticket
	id := sessionCookieOf(t, s, do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil)).Value
	ck := cookieHeader(s, id)

	if m := getJSON(http.MethodGet, ck); m["session"] != "active" || m["userDirectory"] != "CORP" || m["userId"] != "jdoe" {
		t.Errorf("logged in: %v", m)
	}
	if m := getJSON(http.MethodDelete, ck); m["session"] != "inactive" {
		t.Errorf("logout: %v", m)
	}
	if _, ok := s.Session(id); ok {
		t.Error("session survives DELETE qps/user")
	}
	expectModuleRedirect(t, do(t, b, http.MethodGet, s.HubURL(), "", ck))
	if m := getJSON(http.MethodGet, ck); m["session"] != "inactive" {
		t.Errorf("after logout: %v", m)
	}
	if r := do(t, b, http.MethodPost, userURL, "", ck); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST qps/user: status %d, want 405", r.status)
	}
}
