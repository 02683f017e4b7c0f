package web_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// signInCopyAndSignOut signs alice in through instance a, signs her out
// again, and returns a copy of the cookie she had while signed in, after
// checking that the copy passed through before the sign-out.
func signInCopyAndSignOut(t *testing.T, p *pair, a string) *http.Cookie {
	t.Helper()
	b := webtest.NewBrowser()
	login := b.MustGet(t, p.sim.HubURL())
	if hub := b.MustPostForm(t, a+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("login failed: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	c := b.Cookie(a, "qlikgate")
	if c == nil {
		t.Fatal("no qlikgate cookie after login")
	}
	if hub := p.hubWith(t, c); hub.HubUser() != `CORP\alice` {
		t.Fatalf("before sign-out the copy does not pass through: %d %s", hub.Status, hub.URL)
	}
	if out := b.MustLogout(t, a+"/logout"); out.Status != http.StatusOK {
		t.Fatalf("logout: %d\n%s", out.Status, out.Body)
	}
	return c
}

// hubWith opens the hub with a browser holding only c: Qlik sends it to
// the instance the simulator points at.
func (p *pair) hubWith(t *testing.T, c *http.Cookie) webtest.Page {
	t.Helper()
	return withQlikgateCookie(p, c).MustGet(t, p.sim.HubURL())
}

// TestSignOutOutlivesTheServer: with the cookie store, a copy of a
// signed-out cookie is refused by a Server rebuilt on the same State (a
// reload) and by one built on a State opened again from the same file (a
// restart). A Server with a State of its own (the old behaviour) accepts
// it, which shows the copy would pass if the list were lost.
func TestSignOutOutlivesTheServer(t *testing.T) {
	p := newSite(t)
	p.config.Session.Store = "cookie"
	p.config.Session.RevocationFile = filepath.Join(t.TempDir(), "revoked.json")
	state, err := web.OpenState(p.config.Session)
	if err != nil {
		t.Fatal(err)
	}
	p.state = state
	a := p.instance(t, "A", nil)
	p.a = a // the browser's cookie jar ignores ports: it reaches every instance
	p.sim.SetModuleURL(a.URL + "/")
	copied := signInCopyAndSignOut(t, p, a.URL)

	tickets := p.sim.Stats().TicketsIssued
	restarted, err := web.OpenState(p.config.Session)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		state *web.State
	}{
		{"reloaded", state},
		{"restarted", restarted},
	} {
		p.state = tt.state
		srv := p.instance(t, tt.name, nil)
		p.sim.SetModuleURL(srv.URL + "/")
		if hub := p.hubWith(t, copied); !hub.IsLoginPage() || hub.URL.Query().Get("qlikTicket") != "" {
			t.Errorf("%s server: the signed-out copy is accepted: %d %s", tt.name, hub.Status, hub.URL)
		}
	}
	if got := p.sim.Stats().TicketsIssued; got != tickets {
		t.Errorf("%d tickets issued for the signed-out copy", got-tickets)
	}

	p.state = nil
	fresh := p.instance(t, "fresh", nil)
	p.sim.SetModuleURL(fresh.URL + "/")
	if hub := p.hubWith(t, copied); hub.HubUser() != `CORP\alice` {
		t.Errorf("a server that knows no sign-out refuses the copy too (%d %s): the test proves nothing", hub.Status, hub.URL)
	}
}

// TestRedisSignOutOutlivesTheServer: with session.store: redis, logout
// deletes the session, so a server built afresh on the same Redis (a
// reload or a restart) refuses the copy without any revocation list.
func TestRedisSignOutOutlivesTheServer(t *testing.T) {
	p := newPair(t)
	p.sim.SetModuleURL(p.a.URL + "/")
	copied := signInCopyAndSignOut(t, p, p.a.URL)
	tickets := p.sim.Stats().TicketsIssued

	rebuilt := p.instance(t, "rebuilt", nil)
	p.sim.SetModuleURL(rebuilt.URL + "/")
	if hub := p.hubWith(t, copied); !hub.IsLoginPage() || hub.URL.Query().Get("qlikTicket") != "" {
		t.Errorf("a rebuilt server accepts the signed-out copy: %d %s", hub.Status, hub.URL)
	}
	if got := p.sim.Stats().TicketsIssued; got != tickets {
		t.Errorf("%d tickets issued for the signed-out copy", got-tickets)
	}
}
