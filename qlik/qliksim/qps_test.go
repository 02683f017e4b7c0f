package qliksim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTicketHappyPath(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	r := qps(t, s, c, http.MethodPost, "ticket",
		`{"UserDirectory":"  CORP ","UserId":" jdoe\t","Attributes":[{"group":"Sales"},{"group":"EU"},{"email":""}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, body %q; want 201", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(raw))
	if want := []string{"Attributes", "Ticket", "UserDirectory", "UserId"}; !slices.Equal(keys, want) {
		t.Errorf("reply properties %v, want %v (no TargetUri without TargetId)", keys, want)
	}
	var tr ticketResponse
	if err := json.Unmarshal([]byte(r.body), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.UserDirectory != "CORP" || tr.UserId != "jdoe" {
		t.Errorf("user %q\\%q, want the trimmed CORP\\jdoe", tr.UserDirectory, tr.UserId)
	}
	wantAttrs := []map[string]string{{"group": "Sales"}, {"group": "EU"}, {"email": ""}}
	if !slices.EqualFunc(tr.Attributes, wantAttrs, maps.Equal) {
		t.Errorf("attributes %v, want %v", tr.Attributes, wantAttrs)
	}
	if !ticketRE.MatchString(tr.Ticket) {
		t.Errorf("ticket %q is not 16 alphanumerics", tr.Ticket)
	}
	if again := issueTicket(t, s, c, simpleTicket); again.Ticket == tr.Ticket {
		t.Error("two tickets are equal")
	}
	if st := s.Stats(); st.TicketsIssued != 2 || st.QPSRequests != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestTicketWithoutAttributes(t *testing.T) {
	s, _ := newSense(t)
	for _, body := range []string{simpleTicket, `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":null}`, `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[]}`} {
		r := qps(t, s, qpsClient(t, s), http.MethodPost, "ticket", body)
		if r.status != http.StatusCreated || !strings.Contains(r.body, `"Attributes":[]`) {
			t.Errorf("%s: status %d, body %q; want 201 with empty Attributes", body, r.status, r.body)
		}
	}
}

func TestXrfkey(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	tests := []struct {
		name   string
		query  string // raw query
		header []string
		ok     bool
	}{
		{"valid", "xrfkey=" + testKey, []string{testKey}, true},
		{"Xrfkey spelling", "Xrfkey=" + testKey, []string{testKey}, true},
		{"XRFKEY spelling", "XRFKEY=" + testKey, []string{testKey}, true},
		{"query missing", "", []string{testKey}, false},
		{"header missing", "xrfkey=" + testKey, nil, false},
		{"both missing", "", nil, false},
		{"mismatch", "xrfkey=" + testKey, []string{"abcdefghij012346"}, false},
		{"differs in case only", "xrfkey=" + testKey, []string{strings.ToUpper(testKey)}, false},
		{"short", "xrfkey=abc", []string{"abc"}, false},
		{"long", "xrfkey=" + testKey + "x", []string{testKey + "x"}, false},
		{"bad characters", "xrfkey=abcdefghij01234-", []string{"abcdefghij01234-"}, false},
		{"non-ASCII", "xrfkey=abcdefghij01234%C3%A9", []string{"abcdefghij01234é"}, false},
		{"two query keys", "xrfkey=" + testKey + "&Xrfkey=" + testKey, []string{testKey}, false},
		{"two headers", "xrfkey=" + testKey, []string{testKey, testKey}, false},
		{"empty", "xrfkey=", []string{""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			if tt.header != nil {
				h["X-Qlik-Xrfkey"] = tt.header
			}
			r := do(t, c, http.MethodPost, s.ProxyRestURI()+"ticket?"+tt.query, simpleTicket, h)
			if tt.ok {
				if r.status != http.StatusCreated {
					t.Errorf("status %d, body %q; want 201", r.status, r.body)
				}
				return
			}
			if r.status != http.StatusForbidden || r.body != "XSRF prevention check failed. Possible XSRF discovered." {
				t.Errorf("status %d, body %q; want 403 with Qlik's XSRF text", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
		})
	}
}

func TestTicketValidation(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	tests := []struct {
		name, body, wantText string
	}{
		{"UserId blank", `{"UserDirectory":"CORP","UserId":""}`, "UserId"},
		{"UserId whitespace", `{"UserDirectory":"CORP","UserId":" \t "}`, "UserId"},
		{"UserId backslash", `{"UserDirectory":"CORP","UserId":"CORP\\jdoe"}`, "UserId"},
		{"UserId missing", `{"UserDirectory":"CORP"}`, "UserId"},
		{"UserId not a string", `{"UserDirectory":"CORP","UserId":42}`, "malformed JSON"},
		{"UserDirectory blank", `{"UserDirectory":"","UserId":"jdoe"}`, "UserDirectory"},
		{"UserDirectory whitespace", `{"UserDirectory":"   ","UserId":"jdoe"}`, "UserDirectory"},
		{"UserDirectory backslash", `{"UserDirectory":"CORP\\","UserId":"jdoe"}`, "UserDirectory"},
		{"UserDirectory missing", `{"UserId":"jdoe"}`, "UserDirectory"},
		{"Attributes an object", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":{"group":"Sales"}}`, "Attributes"},
		{"Attributes a string", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":"group=Sales"}`, "Attributes"},
		{"attribute with two keys", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{"group":"Sales","email":"j@x"}]}`, "Attributes"},
		{"attribute with a repeated key", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{"group":"Sales","group":"EU"}]}`, "Attributes"},
		{"empty attribute object", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{}]}`, "Attributes"},
		{"attribute value a number", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{"level":3}]}`, "Attributes"},
		{"attribute value null", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{"group":null}]}`, "Attributes"},
		{"attribute value a list", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{"group":["Sales","EU"]}]}`, "Attributes"},
		{"attribute a string", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":["group"]}`, "Attributes"},
		{"attribute name empty", `{"UserDirectory":"CORP","UserId":"jdoe","Attributes":[{"":"x"}]}`, "Attributes"},
		{"malformed JSON", `{"UserDirectory":"CORP",`, "malformed JSON"},
		{"trailing data", `{"UserDirectory":"CORP","UserId":"jdoe"} {}`, "malformed JSON"},
		{"array body", `[{"UserDirectory":"CORP","UserId":"jdoe"}]`, "JSON object"},
		{"null body", `null`, "JSON object"},
		{"unknown TargetId", `{"UserDirectory":"CORP","UserId":"jdoe","TargetId":"3f8e2c4a-1b2c-4d5e-8f90-123456789abc"}`, "Unknown TargetId"},
		{"empty TargetId", `{"UserDirectory":"CORP","UserId":"jdoe","TargetId":""}`, "Unknown TargetId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := qps(t, s, c, http.MethodPost, "ticket", tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, body %q; want 400", r.status, r.body)
			}
			if !strings.Contains(r.body, tt.wantText) {
				t.Errorf("body %q does not mention %q", r.body, tt.wantText)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
		})
	}
	if n := s.Stats().TicketsIssued; n != 0 {
		t.Errorf("%d tickets issued for bad requests", n)
	}
}

func TestTicketContentType(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	tests := []struct {
		contentType string
		want        int
	}{
		{"application/json", http.StatusCreated},
		{"application/json; charset=utf-8", http.StatusCreated},
		{"Application/JSON", http.StatusCreated},
		{"", http.StatusUnsupportedMediaType},
		{"text/plain", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		h := http.Header{"X-Qlik-Xrfkey": {testKey}}
		if tt.contentType != "" {
			h.Set("Content-Type", tt.contentType)
		}
		r := do(t, c, http.MethodPost, s.ProxyRestURI()+"ticket?xrfkey="+testKey, simpleTicket, h)
		if r.status != tt.want {
			t.Errorf("Content-Type %q: status %d (%q), want %d", tt.contentType, r.status, r.body, tt.want)
		}
	}
}

func TestCamelCaseProperties(t *testing.T) {
	s, _ := newSense(t)
	_, targetID := moduleRedirect(t, s, browser(t, s), s.HubURL())
	r := qps(t, s, qpsClient(t, s), http.MethodPost, "ticket",
		`{"userDirectory":"CORP","userId":"jdoe","attributes":[{"group":"Sales"}],"targetId":"`+targetID+`","proxyRestUri":"ignored","extra":{"x":1}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, body %q; want 201", r.status, r.body)
	}
	for _, prop := range []string{`"UserDirectory":"CORP"`, `"UserId":"jdoe"`, `"Attributes":[{"group":"Sales"}]`, `"TargetUri":"` + s.HubURL() + `"`} {
		if !strings.Contains(r.body, prop) {
			t.Errorf("reply %q lacks %s (replies are PascalCase)", r.body, prop)
		}
	}
}

func TestTargetIDExpires(t *testing.T) {
	s, clock := newSense(t)
	c := qpsClient(t, s)
	_, targetID := moduleRedirect(t, s, browser(t, s), s.HubURL())
	body := `{"UserDirectory":"CORP","UserId":"jdoe","TargetId":"` + targetID + `"}`

	clock.Advance(9 * time.Minute)
	issueTicket(t, s, c, body) // still known, and reusable

	clock.Advance(2 * time.Minute)
	r := qps(t, s, c, http.MethodPost, "ticket", body)
	if r.status != http.StatusBadRequest || r.body != "Unknown TargetId" {
		t.Errorf("stale targetId: status %d, body %q; want 400 Unknown TargetId", r.status, r.body)
	}
}

func TestQPSRouting(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	base := strings.TrimSuffix(s.ProxyRestURI(), "/qps/hr/")
	tests := []struct {
		name, method, path string
		want               int
		allow              string
	}{
		{"missing prefix", http.MethodPost, "/qps/ticket", http.StatusNotFound, ""},
		{"other prefix", http.MethodPost, "/qps/sales/ticket", http.StatusNotFound, ""},
		{"double slash", http.MethodPost, "/qps/hr//ticket", http.StatusNotFound, ""},
		{"trailing slash", http.MethodPost, "/qps/hr/ticket/", http.StatusNotFound, ""},
		{"misspelt", http.MethodPost, "/qps/hr/tickets", http.StatusNotFound, ""},
		{"wrong case", http.MethodPost, "/qps/hr/Ticket", http.StatusNotFound, ""},
		{"base only", http.MethodGet, "/qps/hr/", http.StatusNotFound, ""},
		{"user without id", http.MethodGet, "/qps/hr/user/CORP", http.StatusNotFound, ""},
		{"GET ticket", http.MethodGet, "/qps/hr/ticket", http.StatusMethodNotAllowed, "POST"},
		{"PUT session", http.MethodPut, "/qps/hr/session/abc", http.StatusMethodNotAllowed, "GET, DELETE"},
		{"POST session id", http.MethodPost, "/qps/hr/session/abc", http.StatusMethodNotAllowed, "GET, DELETE"},
		{"DELETE session list", http.MethodDelete, "/qps/hr/session", http.StatusMethodNotAllowed, "GET, POST"},
		{"POST user", http.MethodPost, "/qps/hr/user/CORP/jdoe", http.StatusMethodNotAllowed, "GET, DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"X-Qlik-Xrfkey": {testKey}, "Content-Type": {"application/json"}}
			r := do(t, c, tt.method, base+tt.path+"?xrfkey="+testKey, simpleTicket, h)
			if r.status != tt.want {
				t.Fatalf("status %d, body %q; want %d", r.status, r.body, tt.want)
			}
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	if n := s.Stats().TicketsIssued; n != 0 {
		t.Errorf("%d tickets issued on wrong routes", n)
	}
}

func TestDefaultVirtualProxyPaths(t *testing.T) {
	s, _ := newSenseOpts(t, SenseOptions{ModuleURL: testModule})
	if !strings.HasSuffix(s.ProxyRestURI(), "/qps/") || !strings.HasSuffix(s.HubURL(), ":"+portOf(t, s.HubURL())+"/hub/") {
		t.Fatalf("ProxyRestURI %q, HubURL %q", s.ProxyRestURI(), s.HubURL())
	}
	issueTicket(t, s, qpsClient(t, s), simpleTicket)
}

func portOf(t *testing.T, u string) string {
	t.Helper()
	rest := u[strings.LastIndex(u, ":")+1:]
	return rest[:strings.Index(rest, "/")]
}
