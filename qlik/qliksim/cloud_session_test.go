package qliksim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// cloudLogin logs jdoe in through cl and returns the response.
func cloudLogin(t *testing.T, c *Cloud, cl *http.Client, clock *fakeClock, jti string, edit func(map[string]any)) response {
	t.Helper()
	claims := cloudClaims(clock.Now(), jti)
	if edit != nil {
		edit(claims)
	}
	r := cloudPostJWT(t, cl, c, cloudSignToken(t, cloudRSAHeader(), claims, testCloudKeys(t).rsa), "")
	if r.status != http.StatusOK {
		t.Fatalf("login: status %d, body %s", r.status, r.body)
	}
	return r
}

func TestCloudSessionCookies(t *testing.T) {
	c, clock, _ := newCloudSim(t)
	cl := cloudBrowser(t, c)
	r := cloudLogin(t, c, cl, clock, "s-1", nil)
	if strings.TrimSpace(r.body) != "{}" {
		t.Errorf("body %q, want {}", r.body)
	}
	got := map[string]*http.Cookie{}
	for _, line := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		got[ck.Name] = ck
	}
	for _, name := range []string{"eas.sid", "eas.sid.sig", "_csrfToken", "_csrfToken.sig"} {
		ck := got[name]
		switch {
		case ck == nil:
			t.Errorf("cookie %s not set", name)
		case ck.Value == "" || ck.Path != "/" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteNoneMode:
			t.Errorf("cookie %s = %+v, want a value, Path=/, Secure, HttpOnly, SameSite=None", name, ck)
		}
	}

	// csrf-token: 204 with the token for the session, 401 without one.
	csrf := do(t, cl, http.MethodGet, c.URL()+"/api/v1/csrf-token", "", nil)
	if csrf.status != http.StatusNoContent || csrf.header.Get("qlik-csrf-token") != got["_csrfToken"].Value {
		t.Errorf("csrf-token: status %d, token %q; want 204 and %q", csrf.status, csrf.header.Get("qlik-csrf-token"), got["_csrfToken"].Value)
	}
	anon := do(t, cloudBrowser(t, c), http.MethodGet, c.URL()+"/api/v1/csrf-token", "", nil)
	if anon.status != http.StatusUnauthorized {
		t.Errorf("anonymous csrf-token: status %d, want 401", anon.status)
	}
	forged := do(t, cloudBrowser(t, c), http.MethodGet, c.URL()+"/api/v1/csrf-token", "",
		http.Header{"Cookie": {"eas.sid=" + got["eas.sid"].Value + "; eas.sid.sig=" + got["_csrfToken.sig"].Value}})
	if forged.status != http.StatusUnauthorized {
		t.Errorf("session cookie with a wrong signature: status %d, want 401", forged.status)
	}
	unsigned := do(t, cloudBrowser(t, c), http.MethodGet, c.URL()+"/api/v1/csrf-token", "",
		http.Header{"Cookie": {"eas.sid=" + got["eas.sid"].Value}})
	if unsigned.status != http.StatusUnauthorized {
		t.Errorf("session cookie without signature: status %d, want 401", unsigned.status)
	}
}

func TestCloudHubAndUsers(t *testing.T) {
	c, clock, _ := newCloudSim(t)
	cl := cloudBrowser(t, c)
	cloudLogin(t, c, cl, clock, "h-1", nil)
	hub := do(t, cl, http.MethodGet, c.URL()+"/hub", "", nil)
	for _, want := range []string{`<h1 id="user">jdoe</h1>`, `<p id="name">Jane Doe</p>`, "<li>Sales</li>", "<li>EU</li>", `<p id="path">/hub</p>`} {
		if !strings.Contains(hub.body, want) {
			t.Errorf("hub page lacks %q:\n%s", want, hub.body)
		}
	}
	if hub.status != http.StatusOK {
		t.Errorf("hub status %d", hub.status)
	}

	// Second login: same user, groups replaced; third without groups keeps them.
	cloudLogin(t, c, cl, clock, "h-2", func(m map[string]any) { m["groups"] = []any{"Admins"} })
	if u, _ := c.User("jdoe"); strings.Join(u.Groups, ",") != "Admins" {
		t.Errorf("groups after second login %q, want Admins", u.Groups)
	}
	cloudLogin(t, c, cl, clock, "h-3", func(m map[string]any) { delete(m, "groups") })
	if u, _ := c.User("jdoe"); strings.Join(u.Groups, ",") != "Admins" || u.Issuer != cloudRSAIssuer || u.Email != "jane@example.com" {
		t.Errorf("user after a login without groups: %+v", u)
	}
	if s := c.Stats(); s.UsersCreated != 1 || s.Logins != 3 {
		t.Errorf("stats %+v: want one user created by three logins", s)
	}
}

func TestCloudHubRedirectsAnonymous(t *testing.T) {
	c, _, _ := newCloudSim(t)
	r := do(t, cloudBrowser(t, c), http.MethodGet, c.URL()+"/sense/app/0d3e?sheet=a%20b", "", nil)
	if r.status != http.StatusFound {
		t.Fatalf("status %d, want 302", r.status)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if base := loc.Scheme + "://" + loc.Host + loc.Path; base != cloudLoginURL {
		t.Errorf("redirect to %q, want %q", base, cloudLoginURL)
	}
	if got, want := loc.Query().Get("returnto"), c.URL()+"/sense/app/0d3e?sheet=a%20b"; got != want {
		t.Errorf("returnto %q, want %q", got, want)
	}

	c.SetLoginURL("")
	if r := do(t, cloudBrowser(t, c), http.MethodGet, c.URL()+"/", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("without LoginURL: status %d, want 401", r.status)
	}
}

func TestCloudInteractiveLogin(t *testing.T) {
	c, _, _ := newCloudSim(t)
	tests := []struct {
		name, query, want string // want "" means 400
	}{
		{"no returnto", "", c.URL() + "/"},
		{"relative path", "returnto=" + url.QueryEscape("/explore/spaces"), c.URL() + "/explore/spaces"},
		{"relative without slash", "returnto=" + url.QueryEscape("automations/editor/fe"), c.URL() + "/automations/editor/fe"},
		{"on the tenant", "returnto=" + url.QueryEscape(c.URL()+"/hub/home"), c.URL() + "/hub/home"},
		{"valid origin with id", "qlik-web-integration-id=" + cloudWIID + "&returnto=" + url.QueryEscape(cloudPortal+"/mashup"), cloudPortal + "/mashup"},
		{"valid origin without id", "returnto=" + url.QueryEscape(cloudPortal+"/mashup"), ""},
		{"foreign host", "qlik-web-integration-id=" + cloudWIID + "&returnto=" + url.QueryEscape("https://evil.example/"), ""},
		{"scheme-relative", "returnto=" + url.QueryEscape("//evil.example/"), ""},
		{"backslash", "returnto=" + url.QueryEscape(`/\evil.example/`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, cloudBrowser(t, c), http.MethodGet, c.URL()+"/login?"+tt.query, "", nil)
			if tt.want == "" {
				if r.status != http.StatusBadRequest {
					t.Errorf("status %d, want 400", r.status)
				}
				return
			}
			loc, err := url.Parse(r.header.Get("Location"))
			if r.status != http.StatusFound || err != nil {
				t.Fatalf("status %d, Location %q", r.status, r.header.Get("Location"))
			}
			if got := loc.Query().Get("returnto"); got != tt.want {
				t.Errorf("returnto %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCloudLogout(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			c, clock, _ := newCloudSim(t)
			cl := cloudBrowser(t, c)
			cloudLogin(t, c, cl, clock, "l-1", nil)
			r := do(t, cl, method, c.URL()+"/logout", "", nil)
			if r.status != http.StatusOK || !strings.Contains(r.body, `id="signedout"`) {
				t.Fatalf("logout: status %d, body %s", r.status, r.body)
			}
			if n := len(r.header.Values("Set-Cookie")); n != 4 {
				t.Errorf("logout expired %d cookies, want 4", n)
			}
			if c.SessionCount() != 0 || c.Stats().SessionsEnded != 1 {
				t.Errorf("sessions %d, stats %+v", c.SessionCount(), c.Stats())
			}
			if r := do(t, cl, http.MethodGet, c.URL()+"/api/v1/csrf-token", "", nil); r.status != http.StatusUnauthorized {
				t.Errorf("csrf-token after logout: status %d, want 401", r.status)
			}
			if r := do(t, cl, http.MethodGet, c.URL()+"/hub", "", nil); r.status != http.StatusFound {
				t.Errorf("hub after logout: status %d, want 302 to the login", r.status)
			}
		})
	}
}
