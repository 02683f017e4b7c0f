package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMashupTicket: a real Chromium, signed in to qlikgate, runs a
// portal page's fetch(..., {credentials: "include"}) as the docs show it.
// From an embed origin the preflight passes, the session cookie goes along
// and the ticket opens the hub; from another origin of the same site (the
// cookie would go along too) the browser refuses after the preflight and
// Qlik issues nothing.
func TestBrowserMashupTicket(t *testing.T) {
	b := startChromium(t)
	newPortal := func(qlikgate *string) *httptest.Server {
		p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Portal</title><script>
window.result = "";
fetch(%q, {method: "POST", credentials: "include", headers: {"X-Qlikgate-Request": "1"}})
  .then(r => r.json().then(j => { window.result = r.status + " " + (j.ticket || j.error); }))
  .catch(e => { window.result = "refused " + e.name; });
</script>`, *qlikgate+"/t/sense/ticket")
		}))
		t.Cleanup(p.Close)
		return p
	}
	var qg string
	portal, stranger := newPortal(&qg), newPortal(&qg)
	s := newStack(t, withEmbedOrigins("sense", portal.URL))
	qg = s.srv.URL

	ctx := b.tab(t, 1000, 700)
	chromeDo(t, ctx, chromedp.Navigate(s.sim.HubURL()), chromeLogin("alice", "alicepw"), chromedp.WaitVisible(chromedp.ID("user")))
	issued := s.sim.Stats().TicketsIssued

	chromeDo(t, ctx, chromedp.Navigate(stranger.URL+"/"))
	if got := chromeWait(t, ctx, "window.result"); got != "refused TypeError" {
		t.Errorf("from an origin not in embed_origins: %q, want the browser to refuse", got)
	}
	if n := s.sim.Stats().TicketsIssued; n != issued {
		t.Errorf("qliksim issued %d tickets for another origin", n-issued)
	}

	chromeDo(t, ctx, chromedp.Navigate(portal.URL+"/"))
	got := chromeWait(t, ctx, "window.result")
	ticket, ok := strings.CutPrefix(got, "200 ")
	if !ok || ticket == "" {
		t.Fatalf("from the embed origin: %q, want 200 and a ticket", got)
	}
	// A fresh browser context has no Qlik session: the ticket alone lets
	// alice in.
	hub := b.tab(t, 1000, 700)
	chromeDo(t, hub, chromedp.Navigate(s.sim.HubURL()+"?qlikTicket="+ticket), chromedp.WaitVisible(chromedp.ID("user")))
	if u := chromeText(t, hub, "user"); u != `CORP\alice` {
		t.Errorf("hub with the ticket shows %q", u)
	}
}
