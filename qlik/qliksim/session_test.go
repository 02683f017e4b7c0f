package qliksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

func TestSessionAPI(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	b := browser(t, s)

	// Create: 201 with the AddedSession shape, values trimmed.
	r := qps(t, s, c, http.MethodPost, "session",
		`{"userDirectory":" CORP ","userId":"jdoe","attributes":[{"group":"Sales"}],"sessionId":"a1b2c3d4e5f6g7h8"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST session: status %d, body %q", r.status, r.body)
	}
	added := decode[map[string]any](t, r)
	want := map[string]any{
		"UserDirectory": "CORP", "UserId": "jdoe", "SessionId": "a1b2c3d4e5f6g7h8", "NewUser": true,
		"Attributes": []any{map[string]any{"group": "Sales"}},
	}
	if !reflect.DeepEqual(added, want) {
		t.Errorf("POST session reply %v, want %v", added, want)
	}

	// Duplicate: 405 with Qlik's HTML-escaped text.
	r = qps(t, s, c, http.MethodPost, "session", `{"UserDirectory":"CORP","UserId":"other","SessionId":"a1b2c3d4e5f6g7h8"}`)
	if r.status != http.StatusMethodNotAllowed || r.body != "SessionId &#39;a1b2c3d4e5f6g7h8&#39; already exists!" {
		t.Errorf("duplicate: status %d, body %q", r.status, r.body)
	}

	// The hub honours the session id as its cookie.
	hub := do(t, b, http.MethodGet, s.HubURL(), "", cookieHeader(s, "a1b2c3d4e5f6g7h8"))
	if hub.status != http.StatusOK || !strings.Contains(hub.body, `<h1 id="user">CORP\jdoe</h1>`) || !strings.Contains(hub.body, "<li>group=Sales</li>") {
		t.Errorf("hub with session-API cookie: status %d, body %q", hub.status, hub.body)
	}

	// A second session of the same user is not a new user.
	r = qps(t, s, c, http.MethodPost, "session", `{"UserDirectory":"corp","UserId":"JDOE","SessionId":"second-session"}`)
	if r.status != http.StatusCreated || decode[addedSession](t, r).NewUser {
		t.Errorf("second session: status %d, body %q; want 201 with NewUser false", r.status, r.body)
	}

	// Get.
	r = qps(t, s, c, http.MethodGet, "session/a1b2c3d4e5f6g7h8", "")
	if got := decode[SessionData](t, r); r.status != http.StatusOK || got.UserId != "jdoe" || got.SessionId != "a1b2c3d4e5f6g7h8" {
		t.Errorf("GET session: status %d, body %q", r.status, r.body)
	}
	if r = qps(t, s, c, http.MethodGet, "session/nope", ""); r.status != http.StatusNotFound {
		t.Errorf("GET unknown session: status %d, want 404", r.status)
	}

	// List a user's sessions (user identity is case-insensitive).
	r = qps(t, s, c, http.MethodGet, "user/CORP/jdoe", "")
	if got := decode[[]SessionData](t, r); r.status != http.StatusOK || len(got) != 2 {
		t.Errorf("GET user: status %d, body %q; want 2 sessions", r.status, r.body)
	}

	// Delete one session: 200 with the deleted struct; it is gone everywhere.
	r = qps(t, s, c, http.MethodDelete, "session/a1b2c3d4e5f6g7h8", "")
	if got := decode[SessionData](t, r); r.status != http.StatusOK || got.SessionId != "a1b2c3d4e5f6g7h8" {
		t.Errorf("DELETE session: status %d, body %q", r.status, r.body)
	}
	if r = qps(t, s, c, http.MethodGet, "session/a1b2c3d4e5f6g7h8", ""); r.status != http.StatusNotFound {
		t.Errorf("GET deleted session: status %d, want 404", r.status)
	}
	if r = qps(t, s, c, http.MethodDelete, "session/a1b2c3d4e5f6g7h8", ""); r.status != http.StatusNotFound {
		t.Errorf("DELETE deleted session: status %d, want 404", r.status)
	}
	expectModuleRedirect(t, do(t, b, http.MethodGet, s.HubURL(), "", cookieHeader(s, "a1b2c3d4e5f6g7h8")))

	// Log out everywhere.
	r = qps(t, s, c, http.MethodDelete, "user/CORP/jdoe", "")
	if got := decode[[]SessionData](t, r); r.status != http.StatusOK || len(got) != 1 || got[0].SessionId != "second-session" {
		t.Errorf("DELETE user: status %d, body %q; want the remaining session", r.status, r.body)
	}
	if r = qps(t, s, c, http.MethodGet, "user/CORP/jdoe", ""); r.status != http.StatusOK || r.body != "[]" {
		t.Errorf("GET user after logout: status %d, body %q; want []", r.status, r.body)
	}
	expectModuleRedirect(t, do(t, b, http.MethodGet, s.HubURL(), "", cookieHeader(s, "second-session")))

	if st := s.Stats(); st.SessionsCreated != 2 || st.TicketsIssued != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSessionAPIValidation(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	tests := []struct{ name, body, wantText string }{
		{"SessionId missing", `{"UserDirectory":"CORP","UserId":"jdoe"}`, "SessionId"},
		{"SessionId empty", `{"UserDirectory":"CORP","UserId":"jdoe","SessionId":""}`, "SessionId"},
		{"SessionId blank", `{"UserDirectory":"CORP","UserId":"jdoe","SessionId":"  "}`, "SessionId"},
		{"SessionId with semicolon", `{"UserDirectory":"CORP","UserId":"jdoe","SessionId":"a;b"}`, "SessionId"},
		{"UserId blank", `{"UserDirectory":"CORP","UserId":" ","SessionId":"abc"}`, "UserId"},
		{"UserDirectory backslash", `{"UserDirectory":"C\\D","UserId":"jdoe","SessionId":"abc"}`, "UserDirectory"},
		{"attributes not a list", `{"UserDirectory":"CORP","UserId":"jdoe","SessionId":"abc","Attributes":{"a":"b"}}`, "Attributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := qps(t, s, c, http.MethodPost, "session", tt.body)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, tt.wantText) {
				t.Errorf("status %d, body %q; want 400 naming %s", r.status, r.body, tt.wantText)
			}
		})
	}
	if st := s.Stats(); st.SessionsCreated != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestQPSDeleteEndsTicketSession(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	b := browser(t, s)
	tk := issueTicket(t, s, c, `{"UserDirectory":"CORP","UserId":"jdoe"}`).Ticket
	id := sessionCookieOf(t, s, do(t, b, http.MethodGet, withTicket(t, s.HubURL(), "qlikTicket", tk), "", nil)).Value

	r := qps(t, s, c, http.MethodGet, "session", "")
	if got := decode[[]SessionData](t, r); len(got) != 1 || got[0].SessionId != id {
		t.Errorf("GET session list: %q", r.body)
	}
	r = qps(t, s, c, http.MethodDelete, "user/corp/JDOE", "")
	if got := decode[[]SessionData](t, r); len(got) != 1 || got[0].SessionId != id {
		t.Errorf("DELETE user: %q", r.body)
	}
	expectModuleRedirect(t, do(t, b, http.MethodGet, s.HubURL(), "", cookieHeader(s, id)))
}

// TestConcurrentLogins runs many full logins at once; with -race it proves
// the state is properly locked.
func TestConcurrentLogins(t *testing.T) {
	s, _ := newSense(t)
	c := qpsClient(t, s)
	b := browser(t, s)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			user := fmt.Sprintf("user%d", i)
			body := fmt.Sprintf(`{"UserDirectory":"CORP","UserId":%q}`, user)
			req, _ := http.NewRequest(http.MethodPost, s.ProxyRestURI()+"ticket?xrfkey="+testKey, strings.NewReader(body))
			req.Header.Set("X-Qlik-Xrfkey", testKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			var tr ticketResponse
			err = json.NewDecoder(resp.Body).Decode(&tr)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusCreated {
				errs <- fmt.Sprintf("ticket: %d %v", resp.StatusCode, err)
				return
			}
			resp, err = b.Get(s.HubURL() + "?qlikTicket=" + tr.Ticket)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprintf("hub: %d", resp.StatusCode)
			}
			_ = s.Stats()
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if st := s.Stats(); st.TicketsIssued != n || st.TicketsConsumed != n || st.SessionsCreated != n {
		t.Errorf("stats %+v", st)
	}
}
