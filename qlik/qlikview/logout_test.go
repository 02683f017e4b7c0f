package qlikview

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

func TestLogoutWithoutLogoutURL(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{})
	tg := newTarget(t, sim, nil)
	h, err := tg.Logout(context.Background(), testUser)
	if err != nil || h.Redirect != "" || h.Page != nil || len(h.Cookies) != 0 {
		t.Fatalf("got %+v, %v; want an empty hand-off", h, err)
	}
}

// TestLogout: the hand-off sends the browser to the sign-out page on the
// QlikView server, whose script posts the AccessPoint logout (done here
// by hand, as a Go client runs no script) and goes on to qlikgate.
func TestLogout(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{})
	logoutURL := sim.LogoutPageURL() + "?next=" + url.QueryEscape(testPublicURL+"logout")
	tg := newTarget(t, sim, func(c *Config) { c.LogoutURL = logoutURL })
	b := browser(t, false, nil)
	get(t, b, login(t, tg, testUser, qlik.Entry{}))
	if len(sim.Sessions()) != 1 {
		t.Fatal("not logged in")
	}

	h, err := tg.Logout(context.Background(), testUser)
	if err != nil || h.Redirect != logoutURL {
		t.Fatalf("got %+v, %v; want a redirect to %s", h, err, logoutURL)
	}
	p := get(t, b, h.Redirect)
	if !strings.Contains(p.body, `location.replace("`+testPublicURL+`logout")`) {
		t.Fatalf("sign-out page:\n%s", p.body)
	}
	req, _ := http.NewRequest(http.MethodPost, sim.URL()+"/QvAJAXZfc/AccessPoint.aspx?mark=&platform=browser.chrome&dpi=96",
		strings.NewReader(`<update mark="" stamp="" cookie="true" scope="Document" ident="AccessPoint" kind="AccessPoint">`+
			`<set name="AccessPoint.Logout" action="" clientsizeWH="1280:939" /></update>`))
	req.Header.Set("Content-Type", "text/xml")
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(sim.Sessions()) != 0 {
		t.Fatalf("logout POST: %d, sessions %+v", resp.StatusCode, sim.Sessions())
	}
	sameJar := &http.Client{Jar: b.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if p := get(t, sameJar, sim.AccessPointURL()); p.status != http.StatusFound || p.loc != testPublicURL+"t/qv/" {
		t.Fatalf("AccessPoint after logout: %d → %q, want the login page", p.status, p.loc)
	}
}
