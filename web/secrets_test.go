package web_test

import (
	"html"
	"os"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// TestSecretsNeverLogged drives every flow with debug logging and then
// looks for each secret that went through qlikgate in its log: passwords,
// the QPS ticket, the session-API cookie, the Cloud JWT, the qlik-embed
// access token and OAuth client secrets, the OIDC code, the qlikgate
// session cookie and the Qlik client key.
func TestSecretsNeverLogged(t *testing.T) {
	op := oidctest.Start(t)
	var tenant *qliksim.Cloud
	s := newStack(t, withOIDC(op, nil), withCloud(&tenant), withEmbedOrigins("cloud", portal))
	var secrets []string
	keep := func(what, v string) {
		if len(v) < 8 {
			t.Fatalf("%s %q is too short to search for", what, v)
		}
		secrets = append(secrets, v)
	}
	keep("password", "alicepw-not-logged")

	// Ticket flow with a wrong then a right password.
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw-not-logged"))
	p = b.NoFollow().MustPostForm(t, s.srv.URL+"/login", p.MustLoginForm(t, "alice", "alicepw"))
	loc := p.Header.Get("Location")
	ticket := loc[strings.Index(loc, "qlikTicket=")+len("qlikTicket="):]
	keep("ticket", ticket)
	keep("qlikgate cookie", b.Cookie(s.srv.URL, "qlikgate").Value)

	// Session API: the proxy session id is a credential.
	p = b.NoFollow().MustGet(t, s.srv.URL+"/t/session/")
	keep("proxy session id", b.Cookie(s.sim.HubURL(), s.sim.CookieName()).Value)

	// Cloud: the JWT on the hand-off page.
	p = b.MustGet(t, s.srv.URL+"/t/cloud/")
	for _, m := range dataAttr.FindAllStringSubmatch(p.Body, -1) {
		if m[1] == "jwt" {
			keep("jwt", html.UnescapeString(m[2]))
		}
	}

	// qlik-embed: the access token and the OAuth clients' secrets.
	at := s.mustAccessToken(t, b)
	keep("access token", at)
	// The access-token window hands out a token in its page.
	if wt := windowToken(t, b.MustGet(t, s.windowURL("cloud", portal)), portal); wt == "" {
		t.Fatal("the access-token window gave no token")
	} else {
		keep("window access token", wt)
	}
	keep("impersonation client secret", embedClientSecret)
	keep("admin client secret", adminClientSecret)
	if !strings.Contains(s.logs.String(), "event=access_token_issued") {
		t.Fatal("no access token was issued")
	}

	// OIDC: the authorization code in the callback.
	b2 := webtest.NewBrowser()
	login = s.openHub(t, b2, "")
	cb := op.Login(t, b2.Client, s.srv.URL+"/login/idp?flow="+login.MustLoginForm(t, "", "").Get("flow"), "alice", "alicepass")
	keep("oidc code", cb.Query().Get("code"))
	keep("oidc password", "alicepass")
	b2.MustGet(t, cb.String())

	key, err := os.ReadFile(s.clientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keep("client key", strings.Split(string(key), "\n")[1])

	b.NoFollow().MustLogout(t, s.srv.URL+"/logout") // ends at the Cloud tenant's logout redirect
	logs := s.logs.String()
	if !strings.Contains(logs, "event=login_failed") || !strings.Contains(logs, "event=handoff") {
		t.Fatalf("the log did not capture the flows:\n%s", logs)
	}
	for _, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("a secret (%.6s…) appears in the log", v)
		}
	}
}
