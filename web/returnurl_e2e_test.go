package web_test

import (
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
		tgt, err := qlikview.Open(qlik.Common{ID: "qv", Kind: "qlikview"}, cfg, qlik.Env{PublicURL: publicURL, Log: log})
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
