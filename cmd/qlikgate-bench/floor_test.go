package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFloorServer sends requests to the floor server in front of qliksim:
// it hands over the user its cookie names, and only that user; without
// the cookie, qlikgate's web layer answers; a bad entry or cookie is
// refused before any ticket is requested.
func TestFloorServer(t *testing.T) {
	m := startModule(t, variantFloor, 2)
	own := signIn{directory: staticDirectory, account: m.users[0]}
	other := signIn{directory: staticDirectory, account: m.users[1]}
	ctx := context.Background()

	// An anonymous browser at the hub is sent to the entry URL, with the
	// proxy's proxyRestUri and targetId, and the web layer shows the
	// login page there.
	entry := loginPageURL(t, ctx, m)
	foreign := *entry
	q := foreign.Query()
	q.Set("proxyRestUri", "https://qps.example.com:4243/qps/")
	foreign.RawQuery = q.Encode()

	for _, tc := range []struct {
		name    string
		cookie  *http.Cookie // nil: none
		entry   *url.URL
		status  int    // of the last page
		hubUser string // DIRECTORY\user the hub shows; "": not at the hub
		tickets int64  // tickets issued and consumed
	}{
		{"the cookie's user", newFloorCookie(own, "/"), entry, http.StatusOK, `LOCAL\vu0001`, 1},
		{"another user's cookie", newFloorCookie(other, "/"), entry, http.StatusOK, `LOCAL\vu0002`, 1},
		{"no cookie: the web layer", nil, entry, http.StatusOK, "", 0},
		{"a foreign proxyRestUri", newFloorCookie(own, "/"), &foreign, http.StatusBadRequest, "", 0},
		{"a cookie without directory", &http.Cookie{Name: floorCookie, Value: own.name, Path: "/"}, entry, http.StatusBadRequest, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := newBrowser(m.publicURL)
			if err != nil {
				t.Fatal(err)
			}
			defer b.close()
			if tc.cookie != nil {
				if err := b.setCookie(m.publicURL, tc.cookie); err != nil {
					t.Fatal(err)
				}
			}
			before := m.site.stats()
			p, _, err := b.get(ctx, tc.entry.String())
			if err != nil {
				t.Fatal(err)
			}
			after := m.site.stats()
			if p.Status != tc.status {
				t.Errorf("status %d at %s, want %d: %s", p.Status, p.URL.Path, tc.status, p.Body)
			}
			if got := p.HubUser(); got != tc.hubUser {
				t.Errorf("the hub shows %q, want %q", got, tc.hubUser)
			}
			if tc.hubUser == "" && tc.status == http.StatusOK && !p.IsLoginPage() {
				t.Errorf("want the login page, got %s: %s", p.URL.Path, p.Body)
			}
			issued, consumed := after.TicketsIssued-before.TicketsIssued, after.TicketsConsumed-before.TicketsConsumed
			if issued != tc.tickets || consumed != tc.tickets {
				t.Errorf("tickets issued %d, consumed %d; want %d", issued, consumed, tc.tickets)
			}
			// The flow's own check accepts the cookie's user only.
			if err := checkAtQlik(p, entrance{hubShowsUser: true}, own); (err == nil) != (tc.hubUser == `LOCAL\vu0001`) {
				t.Errorf("checkAtQlik as %s: %v", own.name, err)
			}
		})
	}
}

// TestFloorHandoffAnswer checks the floor's hand-off itself: a bare 302 to
// the hub with a ticket, never cached, and no cookie.
func TestFloorHandoffAnswer(t *testing.T) {
	m := startModule(t, variantFloor, 1)
	entry := loginPageURL(t, context.Background(), m)
	req, err := http.NewRequest(http.MethodGet, entry.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(newFloorCookie(signIn{directory: staticDirectory, account: m.users[0]}, "/"))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, m.site.hubURL()) || !strings.Contains(loc, "qlikTicket=") {
		t.Errorf("%d to %q, want 302 to %s…?qlikTicket=…", resp.StatusCode, loc, m.site.hubURL())
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("the floor set cookies: %q", sc)
	}
}

// TestFloorSSOFlow runs the tool's sso flow in floor mode: the first login
// goes through qlikgate's web layer, then every iteration is a floor
// hand-off that the hub checks, and that the web layer never sees.
func TestFloorSSOFlow(t *testing.T) {
	m := startModule(t, variantFloor, 1)
	ctx := context.Background()
	e := entrance{start: m.site.hubURL(), moduleURL: m.publicURL, hubShowsUser: true, floor: true}
	vu, err := flowFor(flowSSO, e, m.users, false).prepare(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer vu.close()
	if got := m.webHandoffs(t); got != 1 {
		t.Fatalf("the web layer logged %d hand-offs for the first login, want 1", got)
	}
	before := m.site.stats()
	const n = 5
	for i := range n {
		module, err := vu.iterate(ctx)
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		if module <= 0 {
			t.Errorf("iteration %d: no time spent at the floor server", i)
		}
	}
	after := m.site.stats()
	if got := after.TicketsConsumed - before.TicketsConsumed; got != n {
		t.Errorf("%d tickets consumed at the hub in %d hand-offs", got, n)
	}
	if got := m.webHandoffs(t); got != 1 {
		t.Errorf("the web layer logged %d hand-offs, want only the first login's: the iterations did not reach the floor", got)
	}
}

// loginPageURL is the entry URL qliksim sends an anonymous browser to,
// checked to show the login page.
func loginPageURL(t *testing.T, ctx context.Context, m testModule) *url.URL {
	t.Helper()
	b, err := newBrowser(m.publicURL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	p, _, err := b.get(ctx, m.site.hubURL())
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusOK || !p.IsLoginPage() || p.URL.Query().Get("targetId") == "" {
		t.Fatalf("an anonymous browser at the hub ended with %d at %s, want the login page with a targetId", p.Status, p.URL)
	}
	return p.URL
}
