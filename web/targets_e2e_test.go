package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/qlikview"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// withQlikView adds a target "qv" for a simulated QlikView web server that
// trusts 127.0.0.1 and sends anonymous browsers to /t/qv/.
func withQlikView(qv **qliksim.QlikView) option {
	return withTarget(func(t testing.TB, publicURL string, log *slog.Logger) qlik.Target {
		pub, _ := url.Parse(publicURL)
		sim, err := qliksim.NewQlikView(qliksim.QlikViewOptions{
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
		cfg.LogoutURL = sim.LogoutPageURL() + "?next=" + url.QueryEscape(publicURL+"logout")
		tgt, err := qlikview.Open(context.Background(), qlik.Common{ID: "qv", Kind: "qlikview"}, cfg, qlik.Env{PublicURL: publicURL, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		return tgt
	})
}

func TestQlikViewLoginEndToEnd(t *testing.T) {
	var qv *qliksim.QlikView
	s := newStack(t, withQlikView(&qv))
	b := webtest.NewBrowser()
	login := b.MustGet(t, qv.AccessPointURL())
	if !login.IsLoginPage() || !strings.HasPrefix(login.URL.String(), s.srv.URL+"/t/qv/") {
		t.Fatalf("AccessPoint did not lead to qlikgate: %d %s", login.Status, login.URL)
	}
	ap := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw"))
	if ap.Status != http.StatusOK || ap.HubUser() != `CORP\alice` {
		t.Fatalf("AccessPoint after login: %d %s\n%s", ap.Status, ap.URL, ap.Body)
	}
	for _, g := range []string{"Sales", "EU"} {
		if !strings.Contains(ap.Body, "<li>"+g+"</li>") {
			t.Errorf("AccessPoint lacks group %s:\n%s", g, ap.Body)
		}
	}
	if st := qv.Stats(); st.TicketsIssued != 1 || st.TicketsConsumed != 1 {
		t.Errorf("QlikView stats %+v", st)
	}
}

// TestOneSessionServesEveryTarget: sign in once (at the Sense hub), then
// enter the session-API virtual proxy and QlikView without a login page;
// logout ends them all.
func TestOneSessionServesEveryTarget(t *testing.T) {
	var qv *qliksim.QlikView
	s := newStack(t, withQlikView(&qv))
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	if hub := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("ticket login: %d", hub.Status)
	}
	// QlikView: AccessPoint → qlikgate → straight back with a web ticket.
	if ap := b.MustGet(t, qv.AccessPointURL()); ap.HubUser() != `CORP\alice` {
		t.Fatalf("QlikView through single sign-on: %d %s\n%s", ap.Status, ap.URL, ap.Body)
	}
	// Sense session API: the proxy sends the browser to /t/session/.
	p := b.NoFollow().MustGet(t, s.srv.URL+"/t/session/")
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Header.Get("Location"), s.sim.HubURL()) {
		t.Fatalf("session-API target through single sign-on: %d %q", p.Status, p.Header.Get("Location"))
	}
	sessCookie := b.Cookie(s.sim.HubURL(), s.sim.CookieName())
	if sessCookie == nil {
		t.Fatal("no proxy session cookie from the session-API target")
	}
	if n := strings.Count(s.logs.String(), "event=login_succeeded"); n != 1 {
		t.Errorf("%d logins for three targets, want 1", n)
	}

	// Logout: the QPS sessions end at once; QlikView's session lives in the
	// browser, so qlikgate sends the browser to the sign-out page on the
	// QlikView server, whose script posts AccessPoint's logout and comes back.
	out := b.NoFollow().MustLogout(t, s.srv.URL+"/logout")
	loc, err := url.Parse(out.Header.Get("Location"))
	if out.Status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), qv.LogoutPageURL()) {
		t.Fatalf("logout: %d %q, want the QlikView sign-out page", out.Status, out.Header.Get("Location"))
	}
	req, _ := http.NewRequest(http.MethodPost, qv.URL()+"/QvAJAXZfc/AccessPoint.aspx?mark=&platform=browser.chrome&dpi=96",
		strings.NewReader(`<update mark="" stamp="" cookie="true" scope="Document" ident="AccessPoint" kind="AccessPoint"><set name="AccessPoint.Logout" action="" clientsizeWH="1280:939" /></update>`))
	req.Header.Set("Content-Type", "text/xml")
	if _, err := b.Do(req); err != nil {
		t.Fatal(err)
	}
	if done := b.MustGet(t, loc.Query().Get("next")); !strings.Contains(done.Body, "signed out") {
		t.Fatalf("back at qlikgate after the QlikView sign-out: %d\n%s", done.Status, done.Body)
	}
	if _, ok := s.sim.Session(sessCookie.Value); ok {
		t.Error("the session-API proxy session survived logout")
	}
	if b.Cookie(s.sim.HubURL(), s.sim.CookieName()) != nil {
		t.Error("the session-API cookie survived logout")
	}
	if ap := b.NoFollow().MustGet(t, qv.AccessPointURL()); ap.Status != http.StatusFound {
		t.Errorf("QlikView session survived logout: %d", ap.Status)
	}
	s.openHub(t, b, "") // Sense: proxy session and qlikgate session gone → login page
}
