package web_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/qlikview"
	"github.com/qlikgate/qlikgate/qlik/sense"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// These tests drive a running qlikgate over HTTP with return URLs that
// differ from an allowed one only in the scheme (a downgrade to http or an
// upgrade to https) and check that each kind refuses them with the
// bad-entry page and hands out no ticket, while the exact allowed URL
// still works.

// badEntryText is what the bad-entry page says.
const badEntryText = "not valid for this sign-in service"

// swapScheme turns http:// into https:// and back, keeping host and port.
func swapScheme(t *testing.T, raw string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(raw, "https://"):
		return "http://" + strings.TrimPrefix(raw, "https://")
	case strings.HasPrefix(raw, "http://"):
		return "https://" + strings.TrimPrefix(raw, "http://")
	}
	t.Fatalf("%q is not an http(s) URL", raw)
	return ""
}

// mustRefuse asserts that GET u answers the bad-entry page, not a redirect.
func mustRefuse(t *testing.T, b *webtest.Browser, u string) {
	t.Helper()
	p := b.NoFollow().MustGet(t, u)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, badEntryText) || p.Header.Get("Location") != "" {
		t.Fatalf("GET %s: %d Location %q, want 400 with the bad-entry page\n%s", u, p.Status, p.Header.Get("Location"), p.Body)
	}
}

// withQlikViewAt adds a qlikview target "qv" for a simulated QlikView web
// server over https (tlsOn) or plain http.
func withQlikViewAt(qv **qliksim.QlikView, tlsOn bool) option {
	return withTarget(func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target {
		pub, _ := url.Parse(publicURL)
		sim, err := qliksim.NewQlikView(qliksim.QlikViewOptions{
			TLS:              tlsOn,
			TrustedIPs:       []string{"127.0.0.1"},
			LoginURL:         publicURL + "t/qv/",
			SafeForwardHosts: []string{pub.Host},
			Logf:             t.Logf,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		*qv = sim
		cfg := qlikview.DefaultConfig()
		cfg.WebTicketURL = sim.WebTicketURL()
		if tlsOn {
			cfg.CAFile = filepath.Join(t.TempDir(), "qv-root.pem")
			if err := os.WriteFile(cfg.CAFile, sim.PKI().RootPEM(), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		tgt, err := qlikview.Open(context.Background(), qlik.Common{ID: "qv", Kind: "qlikview"}, cfg, qlik.Env{PublicURL: publicURL, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		return tgt
	})
}

// TestQlikViewReturnURLSchemeMustMatch: try/returnto on the QlikView
// server's host and port but with the other scheme is refused, before and
// after sign-in, and no web ticket is requested for it; the server's own
// origin still works.
func TestQlikViewReturnURLSchemeMustMatch(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tlsOn bool
	}{{"downgrade: https server, http given", true}, {"upgrade: http server, https given", false}} {
		t.Run(tt.name, func(t *testing.T) {
			var qv *qliksim.QlikView
			s := newStack(t, withQlikViewAt(&qv, tt.tlsOn))
			b := webtest.NewBrowser()
			if tt.tlsOn {
				b.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: qv.PKI().CertPool()}}
			}
			allowed := qv.URL() + "/QlikView/"
			attack := swapScheme(t, allowed)
			entry := func(name, v string) string { return s.srv.URL + "/t/qv/?" + url.Values{name: {v}}.Encode() }

			// Anonymous: refused at the entry, no login page.
			mustRefuse(t, b, entry("try", attack))
			mustRefuse(t, b, entry("returnto", attack))

			// The exact allowed URL: login page, then AccessPoint signed in.
			login := b.MustGet(t, entry("try", allowed))
			if !login.IsLoginPage() {
				t.Fatalf("entry with the allowed try: %d\n%s", login.Status, login.Body)
			}
			ap := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
			if ap.Status != http.StatusOK || ap.HubUser() != `CORP\alice` || ap.URL.String() != allowed {
				t.Fatalf("after login with the allowed try: %d %s\n%s", ap.Status, ap.URL, ap.Body)
			}
			before := qv.Stats()
			if before.TicketsIssued != 1 || before.TicketsConsumed != 1 {
				t.Fatalf("stats after the allowed login %+v, want one ticket issued and used", before)
			}

			// Signed in (single sign-on would hand over at once): still
			// refused, and QlikView is not asked for a ticket.
			mustRefuse(t, b, entry("try", attack))
			mustRefuse(t, b, entry("returnto", attack))
			if after := qv.Stats(); after.TicketsIssued != before.TicketsIssued {
				t.Errorf("a web ticket was requested for a refused try: %+v", after)
			}
			if !strings.Contains(s.logs.String(), "event=bad_entry") {
				t.Error("no bad_entry log line")
			}
		})
	}
}

// otherScheme turns http:// into https:// and back.
func otherScheme(raw string) string {
	if rest, ok := strings.CutPrefix(raw, "https://"); ok {
		return "http://" + rest
	}
	return "https://" + strings.TrimPrefix(raw, "http://")
}

// withSenseSite adds a simulated Sense site whose proxy is served over
// https (hubTLS) or http, and two sense-ticket targets for it: "exact",
// with the proxy's own hub_url, and "swapped", with the hub configured on
// the other scheme and the proxy's host:port in allowed_redirect_hosts, so
// every TargetUri the QPS returns differs from what "swapped" allows in
// the scheme only.
func withSenseSite(sim **qliksim.Sense, hubTLS bool) option {
	var site *qliksim.Sense
	open := func(id string, edit func(*sense.Config)) option {
		return withTarget(func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target {
			if site == nil {
				var err error
				// The module URL only matters for the redirect's query,
				// which the tests take to either target.
				opts := qliksim.SenseOptions{Prefix: "hr", HubTLS: hubTLS, ModuleURL: publicURL + "t/exact/", Logf: t.Logf}
				if site, err = qliksim.NewSense(opts); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(site.Close)
				*sim = site
			}
			files, err := site.PKI().WriteFiles(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			cfg := sense.DefaultConfig()
			cfg.ProxyRestURI = site.ProxyRestURI()
			cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
			cfg.HubURL = site.HubURL()
			edit(cfg)
			tgt, err := sense.OpenTicket(context.Background(), qlik.Common{ID: id, Kind: "sense-ticket"}, cfg, qlik.Env{Log: log})
			if err != nil {
				t.Fatal(err)
			}
			return tgt
		})
	}
	exact := open("exact", func(*sense.Config) {})
	swapped := open("swapped", func(c *sense.Config) {
		hub, _ := url.Parse(c.HubURL)
		c.HubURL = otherScheme(c.HubURL)
		c.AllowedRedirectHosts = []string{hub.Host}
	})
	return func(s *setup) { exact(s); swapped(s) }
}

// senseEntry asks the proxy for a page as a new anonymous browser and
// returns the query (proxyRestUri, targetId) it sends to the module.
func senseEntry(t *testing.T, sim *qliksim.Sense) string {
	t.Helper()
	b := webtest.NewBrowser().NoFollow()
	b.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: sim.PKI().CertPool()}}
	p := b.MustGet(t, sim.HubURL()+"stream/1")
	loc, err := url.Parse(p.Header.Get("Location"))
	if p.Status != http.StatusFound || err != nil || loc.Query().Get("targetId") == "" {
		t.Fatalf("the proxy did not send the browser to the module: %d %q", p.Status, p.Header.Get("Location"))
	}
	return loc.RawQuery
}

// TestSenseTargetURISchemeMustMatch: a TargetUri from the QPS on an
// allowed host and port but another scheme than configured gets the
// bad-entry page and its ticket never reaches the browser, for the
// upgrade (http configured, https returned) and the downgrade (https
// configured, http returned); the exact hub origin still works.
func TestSenseTargetURISchemeMustMatch(t *testing.T) {
	for _, tt := range []struct {
		name   string
		hubTLS bool
	}{{"upgrade: http allowed, https returned", true}, {"downgrade: https allowed, http returned", false}} {
		t.Run(tt.name, func(t *testing.T) {
			var site *qliksim.Sense
			s := newStack(t, withSenseSite(&site, tt.hubTLS))
			b := webtest.NewBrowser()
			b.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: site.PKI().CertPool()}}

			login := b.MustGet(t, s.srv.URL+"/t/exact/?"+senseEntry(t, site))
			if !login.IsLoginPage() {
				t.Fatalf("entry: %d\n%s", login.Status, login.Body)
			}
			p := b.NoFollow().MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
			loc := p.Header.Get("Location")
			if p.Status != http.StatusFound || !strings.HasPrefix(loc, site.HubURL()+"stream/1?") || !strings.Contains(loc, "qlikTicket=") {
				t.Fatalf("the exact hub origin: %d %q, want the TargetUri with a ticket", p.Status, loc)
			}
			if hub := b.MustGet(t, loc); hub.HubUser() != `CORP\alice` {
				t.Fatalf("hub after the ticket: %d\n%s", hub.Status, hub.Body)
			}
			before := site.Stats()

			// Signed in: the hand-off asks the QPS, which answers with a
			// TargetUri on the other scheme; the ticket is dropped.
			p = b.NoFollow().MustGet(t, s.srv.URL+"/t/swapped/?"+senseEntry(t, site))
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, badEntryText) || p.Header.Get("Location") != "" || strings.Contains(p.Body, "qlikTicket") {
				t.Fatalf("TargetUri on the other scheme: %d %q, want 400 with the bad-entry page\n%s", p.Status, p.Header.Get("Location"), p.Body)
			}
			if after := site.Stats(); after.TicketsConsumed != before.TicketsConsumed {
				t.Errorf("a ticket was used after the refusal: %+v", after)
			}
			if !strings.Contains(s.logs.String(), "the QPS returned a TargetUri") {
				t.Error("the refused TargetUri was not logged")
			}
		})
	}
}

// TestSenseSessionReturnToSchemeMustMatch: sense-session's returnto on
// the hub's host and port with the other scheme is refused at the entry;
// the hub's own origin is where the user lands.
func TestSenseSessionReturnToSchemeMustMatch(t *testing.T) {
	s := newStack(t)
	allowed := s.sim.HubURL() + "stream/9"
	entry := func(v string) string { return s.srv.URL + "/t/session/?" + url.Values{"returnto": {v}}.Encode() }
	b := webtest.NewBrowser()
	mustRefuse(t, b, entry(otherScheme(allowed)))

	login := b.MustGet(t, entry(allowed))
	if !login.IsLoginPage() {
		t.Fatalf("entry with the allowed returnto: %d\n%s", login.Status, login.Body)
	}
	hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if hub.HubUser() != `CORP\alice` || hub.URL.String() != allowed {
		t.Fatalf("after login: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	sessions := s.sim.Stats().SessionsCreated
	mustRefuse(t, b, entry(otherScheme(allowed)))
	if n := s.sim.Stats().SessionsCreated; n != sessions {
		t.Errorf("%d proxy sessions created for a refused returnto", n-sessions)
	}
}

// TestCloudReturnToSchemeMustMatch: a returnto on the tenant's host and
// port over http is refused before anything is signed; the tenant's https
// origin gets the hand-off page. (Cloud allows https only, so there is no
// upgrade to refuse.)
func TestCloudReturnToSchemeMustMatch(t *testing.T) {
	var tenant *qliksim.Cloud
	s := newStack(t, withCloud(&tenant))
	allowed := tenant.URL() + "/hub/spaces"
	entry := func(v string) string { return s.srv.URL + "/t/cloud/?" + url.Values{"returnto": {v}}.Encode() }
	b := webtest.NewBrowser()
	mustRefuse(t, b, entry(otherScheme(allowed)))

	login := b.MustGet(t, entry(allowed))
	page := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-return-to="`+allowed+`"`) || !strings.Contains(page.Body, "data-jwt=") {
		t.Fatalf("hand-off page for the allowed returnto: %d\n%s", page.Status, page.Body)
	}
	for _, attack := range []string{otherScheme(allowed), strings.Replace(allowed, "https://", "https://qlik@", 1)} {
		p := b.NoFollow().MustGet(t, entry(attack))
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, badEntryText) || strings.Contains(p.Body, "data-jwt") {
			t.Fatalf("returnto %s while signed in: %d, want 400 without a token\n%s", attack, p.Status, p.Body)
		}
	}
}
