package web_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// withPolicyOnLast gives the provider added last a second-factor policy.
func withPolicyOnLast(p mfa.Policy) option {
	return func(su *setup) {
		f := su.provider[len(su.provider)-1]
		su.provider[len(su.provider)-1] = func(t testing.TB, publicURL string, log *slog.Logger) web.Provider {
			pr := f(t, publicURL, log)
			pr.MFA = p
			return pr
		}
	}
}

// TestPasskeyPasswordlessLDAP: an LDAP user registers a passkey and then
// signs in with it alone; the identity (user id, groups) is read from the
// directory at that sign-in, through the service account.
func TestPasskeyPasswordlessLDAP(t *testing.T) {
	sl := needSlapd(t)
	s := newStack(t, withLocalhost(), withMFA(t, passkeyPolicy()), withLDAP(sl, sl.URL), withPolicyOnLast(passkeyPolicy()))
	key := newSoftKey(t)
	b := webtest.NewBrowser()
	f := s.openHub(t, b, "").MustLoginForm(t, "alice", "alicepass")
	f.Set("provider", "corp")
	if hub := b.MustPostForm(t, s.srv.URL+"/login", f); hub.HubUser() != `CORP\alice` {
		t.Fatalf("LDAP password sign-in: %d %s", hub.Status, hub.URL)
	}
	sec := b.MustGet(t, s.srv.URL+"/security")
	opts := s.passkeyOptions(t, b, sec, "register")
	if rec := b.MustPostForm(t, s.srv.URL+"/mfa/passkey/register", passkeyForm(t, sec, key.create(t, opts, s.origin), "name", "ldap key")); rec.Status != http.StatusOK {
		t.Fatalf("registration: %d\n%s", rec.Status, rec.Body)
	}
	pl := webtest.NewBrowser()
	login := s.openHub(t, pl, "")
	opts = s.passkeyOptions(t, pl, login, "login")
	hub := pl.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, key.get(t, opts, s.origin, "localhost")))
	if hub.HubUser() != `CORP\alice` || !strings.Contains(hub.Body, "Group=admins") {
		t.Fatalf("passwordless with LDAP: %d %s %q\n%s", hub.Status, hub.URL, hub.HubUser(), hub.Body)
	}
	if !strings.Contains(s.logs.String(), "provider=corp user=alice directory=CORP method=passkey") {
		t.Error("the passwordless LDAP sign-in is not logged as login_succeeded method=passkey for corp")
	}
	// A passkey that fails its check counts against its provider too.
	bad := webtest.NewBrowser()
	login = s.openHub(t, bad, "")
	opts = s.passkeyOptions(t, bad, login, "login")
	if p := bad.MustPostForm(t, s.srv.URL+"/login/passkey", passkeyForm(t, login, key.get(t, opts, "https://evil.example", "localhost"))); p.Status != http.StatusUnauthorized {
		t.Fatalf("a passkey answer for another origin: %d %s", p.Status, p.URL)
	}
	metrics := webtest.NewBrowser().MustGet(t, s.srv.URL+"/metrics").Body
	for _, want := range []string{
		// The password sign-in and the passwordless one.
		`qlikgate_logins_total{kind="ldap",provider="corp",result="success"} 2`,
		`qlikgate_logins_total{kind="ldap",provider="corp",result="bad_credentials"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
