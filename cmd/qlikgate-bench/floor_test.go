package main

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestFloorServer sends requests to the floor server in front of qliksim:
// it hands over the user its cookie names, and only a user qlikgate's web
// layer has handed over before, with the very name, groups and attributes
// the web layer gave Qlik; without the cookie, qlikgate's web layer
// answers; a bad entry or cookie is refused before any ticket is
// requested.
func TestFloorServer(t *testing.T) {
	m := startModule(t, variantFloor, 3)
	own := signIn{directory: staticDirectory, account: m.users[0]}
	other := signIn{directory: staticDirectory, account: m.users[1]}
	stranger := signIn{directory: staticDirectory, account: m.users[2]} // never signed in
	ctx := context.Background()

	// What the hub shows after each user's sign-in through qlikgate's web
	// layer: the user and the attributes the ticket carried.
	atQlik := map[string]string{}
	for _, s := range []signIn{own, other} {
		atQlik[s.name] = hubAttributes(t, signInThroughWebLayer(t, ctx, m, s))
		if atQlik[s.name] == "" {
			t.Fatalf("the web layer's ticket for %s carried no attributes: the comparison would not show whether the floor's does", s.name)
		}
	}

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
		{"a user the web layer never handed over", newFloorCookie(stranger, "/"), entry, http.StatusBadRequest, "", 0},
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
			for name, attrs := range atQlik {
				if tc.hubUser == `LOCAL\`+name {
					if got := hubAttributes(t, p); got != attrs {
						t.Errorf("the floor's ticket gave the hub %q, the web layer's %q", got, attrs)
					}
				}
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
// the hub with a ticket, never cached, and no cookie; and the wire
// variant's, which answers with the headers qlikgate's own single sign-on
// hand-off answered with, its loop counter's Set-Cookie included.
func TestFloorHandoffAnswer(t *testing.T) {
	for _, variant := range []string{variantFloor, variantWire} {
		t.Run(variant, func(t *testing.T) {
			m := startModule(t, variant, 1)
			ctx := context.Background()
			s := signIn{directory: staticDirectory, account: m.users[0]}
			signInThroughWebLayer(t, ctx, m, s)
			entry := loginPageURL(t, ctx, m)
			var webAnswer http.Header
			if variant == variantWire {
				// The web layer's hand-off, which the wire variant records.
				session := &http.Cookie{Name: sessionCookie, Value: m.lastSession, Path: "/"}
				webAnswer = handoffAnswer(t, m, entry, session).Header
			}
			resp := handoffAnswer(t, m, entry, newFloorCookie(s, "/"))
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, m.site.hubURL()) || !strings.Contains(loc, "qlikTicket=") {
				t.Errorf("%d to %q, want 302 to %s…?qlikTicket=…", resp.StatusCode, loc, m.site.hubURL())
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if m.webHandoffs(t) != map[string]int{variantFloor: 1, variantWire: 2}[variant] {
				t.Errorf("the web layer logged %d hand-offs: the floor's answer came from it", m.webHandoffs(t))
			}
			if variant == variantFloor {
				if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("the floor set cookies: %q", sc)
				}
				return
			}
			if sc := webAnswer.Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], loopCookie+"=") {
				t.Fatalf("the web layer's hand-off set %q, want its loop counter alone", sc)
			}
			for _, h := range []http.Header{webAnswer, resp.Header} {
				for _, k := range []string{"Location", "Date", "Content-Length"} {
					h.Del(k)
				}
			}
			if !reflect.DeepEqual(resp.Header, webAnswer) {
				t.Errorf("the wire variant answered with\n%v\nqlikgate's hand-off with\n%v", resp.Header, webAnswer)
			}
			if len(webAnswer) < 8 {
				t.Errorf("qlikgate's hand-off had only %d headers besides Location, Date and Content-Length: %v", len(webAnswer), webAnswer)
			}
		})
	}
}

// TestFloorSSOFlow runs the tool's sso flow in the floor and wire modes:
// the first login goes through qlikgate's web layer (and, for wire, one
// hand-off more, whose answer it records), then every iteration is a
// floor hand-off that the hub checks, and that the web layer never sees.
func TestFloorSSOFlow(t *testing.T) {
	for _, variant := range []string{variantFloor, variantWire} {
		t.Run(variant, func(t *testing.T) {
			m := startModule(t, variant, 1)
			ctx := context.Background()
			e := entrance{start: m.site.hubURL(), moduleURL: m.publicURL, hubShowsUser: true, floor: true, wire: variant == variantWire}
			vu, err := flowFor(flowSSO, e, m.users, false).prepare(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer vu.close()
			web := map[string]int{variantFloor: 1, variantWire: 2}[variant]
			if got := m.webHandoffs(t); got != web {
				t.Fatalf("the web layer logged %d hand-offs before the iterations, want %d", got, web)
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
			if got := m.webHandoffs(t); got != web {
				t.Errorf("the web layer logged %d hand-offs, want only the %d before: the iterations did not reach the floor", got, web)
			}
		})
	}
}

// signInThroughWebLayer signs s in through qlikgate's web layer, from the
// hub, and returns the hub's page; the session cookie it got is kept in
// m.lastSession.
func signInThroughWebLayer(t *testing.T, ctx context.Context, m *testModule, s signIn) webtest.Page {
	t.Helper()
	b, err := newBrowser(m.publicURL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	e := entrance{start: m.site.hubURL(), moduleURL: m.publicURL, hubShowsUser: true}
	if _, _, _, err := fullLogin(ctx, b, e, s); err != nil {
		t.Fatal(err)
	}
	c := b.cookie(m.publicURL, sessionCookie)
	if c == nil {
		t.Fatal("no session cookie after the sign-in")
	}
	m.lastSession = c.Value
	if b.cookie(m.site.hubURL(), sessionCookie) != nil {
		t.Error("the browser would send qlikgate's session cookie to the hub: the two share a host name, which no deployment does")
	}
	p, _, err := b.get(ctx, m.site.hubURL())
	if err != nil || p.HubUser() != s.directory+`\`+s.name {
		t.Fatalf("after the sign-in the hub shows %q (%v)", p.HubUser(), err)
	}
	return p
}

// hubAttributes is the attribute list of the hub's page.
func hubAttributes(t *testing.T, p webtest.Page) string {
	t.Helper()
	_, rest, ok := strings.Cut(p.Body, `<ul id="attributes">`)
	list, _, ok2 := strings.Cut(rest, "</ul>")
	if !ok || !ok2 {
		t.Fatalf("the hub page has no attribute list: %s", p.Body)
	}
	return strings.TrimSpace(list)
}

// handoffAnswer is the answer to the entry request with cookie, unfollowed.
func handoffAnswer(t *testing.T, m *testModule, entry *url.URL, cookie *http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, entry.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(cookie)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// loginPageURL is the entry URL qliksim sends an anonymous browser to,
// checked to show the login page.
func loginPageURL(t *testing.T, ctx context.Context, m *testModule) *url.URL {
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
