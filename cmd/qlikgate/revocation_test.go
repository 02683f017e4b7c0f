//go:build !windows

package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestSignOutSurvivesReloadAndRestart: a copy of the session cookie taken
// before sign-out stays refused after SIGHUP and after serve restarts on
// the same configuration, with the default cookie store. Before the
// revocations outlived the server, both brought the copy back to life.
func TestSignOutSurvivesReloadAndRestart(t *testing.T) {
	site := newReloadSite(t)
	site.write(t, "First Title", "")
	r := start(t, "serve", "-config", site.path)
	r.waitFor(t, "the first configuration", func() bool { return site.title() == "First Title" })

	b := webtest.NewBrowser()
	login := b.MustGet(t, site.sim.HubURL())
	if hub := b.MustPostForm(t, site.publicURL+"login", login.MustLoginForm(t, "alice", "pw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("login failed: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	cookie := b.Cookie(site.publicURL, "qlikgate")
	if cookie == nil {
		t.Fatal("no qlikgate cookie after login")
	}
	// The copy is a browser with qlikgate's cookie and no Qlik session:
	// Qlik sends it to qlikgate, which hands it back with a ticket while the
	// sign-in is valid, and shows the login page once it is not.
	handoff := func() webtest.Page {
		t.Helper()
		c := webtest.NewBrowser()
		u, _ := url.Parse(site.publicURL)
		c.Client.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/"}})
		return c.MustGet(t, site.sim.HubURL())
	}
	if p := handoff(); p.HubUser() != `CORP\alice` {
		t.Fatalf("before sign-out the copy does not pass through: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if out := b.MustLogout(t, site.publicURL+"logout"); out.Status != http.StatusOK {
		t.Fatalf("logout: %d\n%s", out.Status, out.Body)
	}
	tickets := site.sim.Stats().TicketsIssued
	refused := func(when string) {
		t.Helper()
		p := handoff()
		if !p.IsLoginPage() || p.HubUser() != "" || p.URL.Query().Get("qlikTicket") != "" {
			t.Errorf("%s: the copied cookie is accepted: %d %s\n%s", when, p.Status, p.URL, p.Body)
		}
		if got := site.sim.Stats().TicketsIssued; got != tickets {
			t.Errorf("%s: %d tickets issued for the copied cookie", when, got-tickets)
		}
	}
	refused("after sign-out")

	site.write(t, "Second Title", "")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the reloaded configuration", func() bool { return site.title() == "Second Title" })
	refused("after a reload")

	if code := r.stop(t); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	r = start(t, "serve", "-config", site.path)
	r.waitFor(t, "the restarted serve", func() bool { return site.title() == "Second Title" })
	refused("after a restart")

	// The default file sits next to the configuration, readable by
	// qlikgate alone.
	fi, err := os.Stat(filepath.Join(filepath.Dir(site.path), web.DefaultRevocationFile))
	if err != nil {
		t.Fatalf("no revocation file next to the configuration: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the revocation file has mode %v, want 0600", fi.Mode().Perm())
	}
	if code := r.stop(t); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
}

// TestThrottleSurvivesReload: with the memory store, failed logins counted
// before SIGHUP still count after it. Before the counters lived in the
// State, a reload gave every attacker a fresh max_attempts.
func TestThrottleSurvivesReload(t *testing.T) {
	site := newReloadSite(t)
	site.write(t, "First Title", "")
	r := start(t, "serve", "-config", site.path)
	r.waitFor(t, "the first configuration", func() bool { return site.title() == "First Title" })
	b := webtest.NewBrowser()
	for i := range 5 {
		login := b.MustGet(t, site.sim.HubURL())
		if p := b.MustPostForm(t, site.publicURL+"login", login.MustLoginForm(t, "alice", "wrong")); p.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, p.Status)
		}
	}
	site.write(t, "Second Title", "")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the reloaded configuration", func() bool { return site.title() == "Second Title" })
	login := b.MustGet(t, site.sim.HubURL())
	if p := b.MustPostForm(t, site.publicURL+"login", login.MustLoginForm(t, "alice", "pw")); p.Status != http.StatusTooManyRequests {
		t.Fatalf("after five failures and a reload, the right password: %d, want 429", p.Status)
	}
	if code := r.stop(t); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
}
