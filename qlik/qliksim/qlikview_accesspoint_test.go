package qliksim

import (
	"crypto/tls"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// qvLogin runs GetWebTicket and Authenticate.aspx, leaving the session
// cookie in c's jar.
func qvLogin(t *testing.T, q *QlikView, c *http.Client, body string) {
	t.Helper()
	tk := qvGetTicket(t, q, c, body)
	r := do(t, c, http.MethodGet, qvAuthURL(q, map[string]string{"type": "html", "webticket": tk, "try": "/QlikView/"}), "", nil)
	qvExpectRedirect(t, r, "/QlikView/")
}

const qvLogoutBody = `<update mark="" stamp="" cookie="true" scope="Document" ident="AccessPoint" kind="AccessPoint">` +
	`<set name="AccessPoint.Logout" action="" clientsizeWH="1280:939" /></update>`

func qvLogoutURL(q *QlikView) string {
	return q.URL() + "/QvAJAXZfc/AccessPoint.aspx?mark=&platform=browser.chrome&dpi=96"
}

func TestQVAccessPoint(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}})
	c := qvClient(t)

	qvExpectRedirect(t, do(t, c, http.MethodGet, q.AccessPointURL(), "", nil), qvTestLogin)

	qvLogin(t, q, c, `<Global method="GetWebTicket"><UserId>CORP\jdoe</UserId><GroupList>`+
		`<string>&lt;/string&gt;&lt;string&gt;Admins</string><string>EU</string></GroupList><GroupsIsNames>true</GroupsIsNames></Global>`)
	for _, path := range []string{"/QlikView/", "/qlikview/", "/QlikView/index.htm"} {
		r := do(t, c, http.MethodGet, q.URL()+path, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d %q", path, r.status, r.body)
		}
		for _, want := range []string{
			`<h1 id="user">CORP\jdoe</h1>`,
			"<li>&lt;/string&gt;&lt;string&gt;Admins</li>\n<li>EU</li>\n</ul>",
			`<p id="groups-are-names">true</p>`,
		} {
			if !strings.Contains(r.body, want) {
				t.Fatalf("%s: page lacks %q:\n%s", path, want, r.body)
			}
		}
	}
	r := do(t, c, http.MethodGet, q.URL()+"/QlikView", "", nil)
	if r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/QlikView/" {
		t.Fatalf("/QlikView: %d %q", r.status, r.header.Get("Location"))
	}
	if r := do(t, c, http.MethodPost, q.AccessPointURL(), "", nil); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST AccessPoint: %d", r.status)
	}

	q.ExpireSessions()
	qvExpectRedirect(t, do(t, c, http.MethodGet, q.AccessPointURL(), "", nil), qvTestLogin)
}

func TestQVAccessPointWithoutLoginPage(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{})
	q.SetLoginURL("")
	if r := do(t, qvClient(t), http.MethodGet, q.AccessPointURL(), "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("got %d, want 401", r.status)
	}
	q.SetLoginURL("https://other.example/login")
	qvExpectRedirect(t, do(t, qvClient(t), http.MethodGet, q.AccessPointURL(), "", nil), "https://other.example/login")
}

func TestQVLogout(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}})
	alice, bob := qvClient(t), qvClient(t)
	qvLogin(t, q, alice, qvSimpleRequest)
	qvLogin(t, q, bob, qvSimpleRequest)

	tests := []struct {
		name, method, body string
		status             int
	}{
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed},
		{"not XML", http.MethodPost, "logout", http.StatusBadRequest},
		{"another update", http.MethodPost, strings.Replace(qvLogoutBody, "AccessPoint.Logout", "AccessPoint.Refresh", 1), http.StatusBadRequest},
		{"another ident", http.MethodPost, strings.Replace(qvLogoutBody, `ident="AccessPoint"`, `ident="Document"`, 1), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := do(t, alice, tt.method, qvLogoutURL(q), tt.body, nil); r.status != tt.status {
				t.Fatalf("got %d %q, want %d", r.status, r.body, tt.status)
			}
			if len(q.Sessions()) != 2 {
				t.Fatal("a refused logout ended a session")
			}
		})
	}

	r := do(t, alice, http.MethodPost, qvLogoutURL(q), qvLogoutBody, http.Header{"Content-Type": {"text/xml"}})
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q, Set-Cookie %q", r.status, r.body, r.header.Get("Set-Cookie"))
	}
	qvExpectRedirect(t, do(t, alice, http.MethodGet, q.AccessPointURL(), "", nil), qvTestLogin)
	if r := do(t, bob, http.MethodGet, q.AccessPointURL(), "", nil); r.status != http.StatusOK {
		t.Fatalf("another browser's session ended too: %d", r.status)
	}
	// Logging out again, without a session, is harmless.
	if r := do(t, alice, http.MethodPost, qvLogoutURL(q), qvLogoutBody, nil); r.status != http.StatusOK {
		t.Fatalf("second logout: %d", r.status)
	}
	if st := q.Stats(); st.Logouts != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestQVLogoutPage(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{SafeForwardHosts: []string{"auth.example"}})
	tests := []struct{ next, want string }{
		{"https://auth.example/logout", `location.replace("https://auth.example/logout")`},
		{"https://evil.example/", `location.replace("/QlikView/")`},
		{"", `location.replace("/QlikView/")`},
		{`/x");alert(1);("`, `location.replace("/x\");alert(1);(\"")`},
	}
	for _, tt := range tests {
		r := do(t, qvClient(t), http.MethodGet, q.LogoutPageURL()+"?next="+url.QueryEscape(tt.next), "", nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, tt.want) || !strings.Contains(r.body, "AccessPoint.Logout") {
			t.Errorf("next=%q: %d, page lacks %s:\n%s", tt.next, r.status, tt.want, r.body)
		}
	}
}

func TestQVTLS(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{TLS: true, TrustedIPs: []string{"127.0.0.1"}})
	if !strings.HasPrefix(q.URL(), "https://") || q.PKI() == nil {
		t.Fatalf("URL %q, PKI %v", q.URL(), q.PKI())
	}
	c := clientWith(t, &tls.Config{RootCAs: q.PKI().CertPool(), MinVersion: tls.VersionTLS12})
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tk := qvGetTicket(t, q, c, qvSimpleRequest)
	r := do(t, c, http.MethodGet, qvAuthURL(q, map[string]string{"type": "html", "webticket": tk, "try": "/QlikView/"}), "", nil)
	if ck := r.header.Get("Set-Cookie"); !strings.Contains(ck, "Secure") || !strings.Contains(ck, "HttpOnly") {
		t.Fatalf("Set-Cookie %q lacks Secure or HttpOnly", ck)
	}
	if r := do(t, c, http.MethodGet, q.AccessPointURL(), "", nil); r.status != http.StatusOK {
		t.Fatalf("AccessPoint over HTTPS: %d", r.status)
	}
	if q2, _ := newQV(t, QlikViewOptions{}); q2.PKI() != nil {
		t.Fatal("a plain HTTP server has a PKI")
	}
}
