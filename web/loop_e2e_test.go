package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// signedIn logs a new browser in as user and returns it with the entry URL
// Qlik sent it to, which single sign-on can be replayed against.
func (s *stack) signedIn(t *testing.T, user, password string) (*webtest.Browser, string) {
	t.Helper()
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	if p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, user, password)); !strings.HasSuffix(p.HubUser(), `\`+user) {
		t.Fatalf("login of %s failed: %d %s\n%s", user, p.Status, p.URL, p.Body)
	}
	return b, login.URL.String()
}

// passThrough replays single sign-on n times; each must land at the hub.
func passThrough(t *testing.T, b *webtest.Browser, entry, user string, n int) {
	t.Helper()
	for i := range n {
		if p := b.MustGet(t, entry); p.Status != http.StatusOK || !strings.HasSuffix(p.HubUser(), `\`+user) {
			t.Fatalf("hand-off %d of %s: %d at %s\n%s", i+1, user, p.Status, p.URL, p.Body)
		}
	}
}

// TestRedirectLoopGuard: a browser that Qlik keeps sending back (more than
// six automatic hand-offs within ten seconds) is stopped with an
// explanation instead of bouncing for ever; the count is per window, and a
// planted or borrowed counter cookie counts for nothing.
func TestRedirectLoopGuard(t *testing.T) {
	const limit = 6 // loopLimit
	s := newStack(t)
	b, entry := s.signedIn(t, "alice", "alicepw")

	passThrough(t, b, entry, "alice", limit)
	p := b.MustGet(t, entry)
	if p.Status != http.StatusBadGateway || !strings.Contains(p.Body, "loop") {
		t.Fatalf("hand-off %d within the window: %d at %s, want the loop page\n%s", limit+1, p.Status, p.URL, p.Body)
	}
	if !strings.Contains(s.logs.String(), "event=redirect_loop") || !strings.Contains(s.logs.String(), "handoffs=7") {
		t.Errorf("no redirect_loop event with the count in the log")
	}
	// Stopping the loop resets the count: the user can go on at once.
	passThrough(t, b, entry, "alice", limit)

	t.Run("the window moves on", func(t *testing.T) {
		b, entry := s.signedIn(t, "alice", "alicepw")
		passThrough(t, b, entry, "alice", limit)
		s.clock.Advance(10 * time.Second)
		passThrough(t, b, entry, "alice", limit)
	})

	t.Run("planted or borrowed counters are ignored", func(t *testing.T) {
		alice, aliceEntry := s.signedIn(t, "alice", "alicepw")
		passThrough(t, alice, aliceEntry, "alice", limit)
		u, _ := url.Parse(s.srv.URL + "/")
		near := alice.Cookie(s.srv.URL+"/", "qlikgate_loop")
		if near == nil || strings.Count(near.Value, ".") != 2 {
			t.Fatalf("no loop counter cookie after %d hand-offs: %v", limit, near)
		}
		bob, bobEntry := s.signedIn(t, "bob", "bobpw")
		start, _, _ := strings.Cut(near.Value, ".")
		for _, planted := range []string{
			near.Value, // alice's, valid for her session only
			strings.Replace(near.Value, ".6.", ".60.", 1), // a count changed under the signature
			start + ".99.AAAAAAAAAAAAAAAAAAAAAA",          // no signature at all
			"garbage",
		} {
			bob.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "qlikgate_loop", Value: planted, Path: "/"}})
			passThrough(t, bob, bobEntry, "bob", limit)
		}
	})
}

// TestSingleSignOnLeavesTheSessionAlone: a pass-through hand-off does not
// write the session again (no 1 KB Set-Cookie on the busiest request)
// unless it changed: the first hand-off to another target, or a last-seen
// time older than a minute, which the idle timeout needs.
func TestSingleSignOnLeavesTheSessionAlone(t *testing.T) {
	s := newStack(t)
	b, entry := s.signedIn(t, "alice", "alicepw")
	setsSession := func(target string) bool {
		t.Helper()
		p := b.NoFollow().MustGet(t, target)
		if p.Status != http.StatusFound {
			t.Fatalf("hand-off: %d\n%s", p.Status, p.Body)
		}
		var session, loop bool
		for _, c := range (&http.Response{Header: p.Header}).Cookies() {
			session = session || c.Name == "qlikgate"
			if c.Name == "qlikgate_loop" {
				loop = true
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 10 {
					t.Errorf("loop counter cookie %q: want HttpOnly, SameSite=Lax, Path=/, Max-Age=10", c.Raw)
				}
			}
		}
		if !loop {
			t.Errorf("a hand-off without the loop counter cookie")
		}
		return session
	}
	if setsSession(entry) {
		t.Error("a pass-through hand-off rewrote the unchanged session")
	}
	// The first hand-off to another target records it, for logout.
	if !setsSession(s.srv.URL + "/t/session/") {
		t.Error("the first hand-off to the session target did not record it")
	}
	if setsSession(s.srv.URL + "/t/session/") {
		t.Error("a second hand-off to the session target rewrote the unchanged session")
	}
	s.clock.Advance(61 * time.Second)
	if !setsSession(entry) {
		t.Error("a minute later, the hand-off did not refresh the last-seen time")
	}
	if setsSession(entry) {
		t.Error("right after the refresh, the session was rewritten again")
	}
}
