package web_test

import (
	"encoding/json"
	"html"
	"os"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/mfa"
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

// TestPasskeySecretsNeverLogged: the second factor's secrets stay out of
// the debug log too: TOTP secret and codes, recovery codes, a passkey's
// signature, client data and attestation, the challenge, and the session
// cookies before and after the factor; refusals are logged with their
// reason only.
func TestPasskeySecretsNeverLogged(t *testing.T) {
	s := newStack(t, withLocalhost(), withMFA(t, mfa.Policy{Mode: mfa.ModeRequired, Methods: []string{mfa.MethodTOTP, mfa.MethodWebAuthn}, Passwordless: true}))
	var secrets []string
	keep := func(what, v string) {
		if len(v) < 8 {
			t.Fatalf("%s %q is too short to search for", what, v)
		}
		secrets = append(secrets, v)
	}
	answerParts := func(answer string) {
		var a struct {
			Response map[string]any `json:"response"`
		}
		if err := json.Unmarshal([]byte(answer), &a); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"signature", "clientDataJSON", "attestationObject", "authenticatorData"} {
			if v, _ := a.Response[k].(string); v != "" {
				keep("passkey "+k, v)
			}
		}
	}
	b := webtest.NewBrowser()
	enrol := s.signInOwing(t, b, "/mfa/enrol")
	keep("owing cookie", b.Cookie(s.srv.URL, "qlikgate").Value)
	keep("totp secret", secretRe.FindStringSubmatch(enrol.Body)[1])
	key := newSoftKey(t)
	opts := s.passkeyOptions(t, b, enrol, "register")
	keep("challenge", parseOptions(t, opts).PublicKey.Challenge)
	answer := key.create(t, opts, s.origin)
	answerParts(answer)
	rec := b.MustPostForm(t, s.srv.URL+"/mfa/passkey/register", passkeyForm(t, enrol, answer, "name", "k"))
	for _, m := range recoveryRe.FindAllStringSubmatch(rec.Body, -1) {
		keep("recovery code", m[1])
	}
	keep("cookie after the factor", b.Cookie(s.srv.URL, "qlikgate").Value)
	// Refused then accepted passwordless sign-ins.
	pl := webtest.NewBrowser()
	login := s.openHub(t, pl, "")
	opts = s.passkeyOptions(t, pl, login, "login")
	bad := key.get(t, opts, "http://evil.example", "localhost")
	answerParts(bad)
	pl.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, bad))
	opts = s.passkeyOptions(t, pl, login, "login")
	keep("challenge", parseOptions(t, opts).PublicKey.Challenge)
	good := key.get(t, opts, s.origin, "localhost")
	answerParts(good)
	if hub := pl.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, good)); hub.HubUser() != `CORP\alice` {
		t.Fatalf("passwordless: %s", hub.URL)
	}
	keep("passwordless cookie", pl.Cookie(s.srv.URL, "qlikgate").Value)
	logs := s.logs.String()
	if !strings.Contains(logs, "event=login_failed") || !strings.Contains(logs, "event=mfa_enrolled") || !strings.Contains(logs, "method=passkey") {
		t.Fatalf("the log did not capture the flows:\n%s", logs)
	}
	for _, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("a secret (%.6s…) appears in the log", v)
		}
	}
}
