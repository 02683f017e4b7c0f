package ldap_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/sense"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// changeStack is the Qlik hub (qliksim) in front of qlikgate with the ldap
// provider "corp" opened with cfg, over real HTTP.
type changeStack struct {
	url     string // qlikgate (its public_url without the slash)
	backend string // where qlikgate listens: differs from url behind a proxy
	hub     string
	p       *ldap.Provider
	logs    *testlog.Buffer
}

func newChangeStack(t *testing.T, cfg ldap.Config) changeStack {
	t.Helper()
	return newStackAt(t, cfg, "")
}

// newStackAt is newChangeStack with qlikgate's public URL on host (at its
// listener's port) instead of its address: Kerberos needs the name of
// the SPN.
func newStackAt(t testing.TB, cfg ldap.Config, host string, mods ...func(*web.Config)) changeStack {
	t.Helper()
	logs := &testlog.Buffer{}
	var out io.Writer = io.MultiWriter(logs, testWriter{t})
	level, logf := slog.LevelDebug, t.Logf
	if _, bench := t.(*testing.B); bench { // measure the work, not the log
		out, level, logf = io.Discard, slog.LevelWarn, func(string, ...any) {}
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr", Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	files, err := sim.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tc := sense.DefaultConfig()
	tc.ProxyRestURI, tc.HubURL = sim.ProxyRestURI(), sim.HubURL()
	tc.ClientCertFile, tc.ClientKeyFile, tc.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	target, err := sense.OpenTicket(context.Background(), qlik.Common{ID: "sense"}, tc, qlik.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	common := providers.Common{ID: "corp", Kind: "ldap", Directory: "CORP"}
	p, err := ldap.Open(context.Background(), common, &cfg, providers.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })

	ts := httptest.NewUnstartedServer(nil)
	wc := web.DefaultConfig()
	wc.Server.PublicURL = "http://" + ts.Listener.Addr().String() + "/"
	if host != "" {
		_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
		wc.Server.PublicURL = "http://" + net.JoinHostPort(host, port) + "/"
	}
	wc.Session.Secret = strings.Repeat("s", 40)
	for _, m := range mods {
		m(&wc)
	}
	srv, err := web.New(web.Options{Config: wc, Providers: []web.Provider{{Common: common, Impl: p}}, Targets: []qlik.Target{target},
		DefaultTarget: "sense", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	sim.SetModuleURL(wc.Server.PublicURL)

	return changeStack{url: strings.TrimSuffix(wc.Server.PublicURL, "/"), backend: ts.URL, hub: sim.HubURL(), p: p, logs: logs}
}

// refusal is a new password the directory refuses, with the message the
// page must show in language lang.
type refusal struct{ next, lang, want string }

// changeThroughQlik is the whole flow: user opens the Qlik hub, signs in
// with old, is refused with reason (read from the audit log) and given the
// change page, where each refusal shows its translated message, then
// changes to next and lands in the hub as CORP\user; the old password no
// longer signs in, and no password was logged.
func (st changeStack) changeThroughQlik(t *testing.T, user, old, next, reason string, refusals []refusal) {
	t.Helper()
	b := webtest.NewBrowser()
	login := b.MustGet(t, st.hub)
	if !login.IsLoginPage() {
		t.Fatalf("the hub did not lead to the login page: %d %s", login.Status, login.URL)
	}
	page := b.MustPostForm(t, st.url+"/login", login.MustLoginForm(t, user, old))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="new-password"`) {
		t.Fatalf("%s (%s): %d %q, want the change page", user, reason, page.Status, page.Message())
	}
	if want := "reason=" + reason; !strings.Contains(st.logs.String(), want) {
		t.Errorf("the log lacks %s", want)
	}
	form := func(current, next string) url.Values {
		f := page.MustLoginForm(t, "", "")
		f.Del("username")
		f.Del("password")
		f.Set("current_password", current)
		f.Set("new_password", next)
		f.Set("confirm_password", next)
		return f
	}
	for _, tt := range refusals {
		req, _ := http.NewRequest(http.MethodPost, st.url+"/password", strings.NewReader(form(old, tt.next).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", tt.lang)
		var err error
		if page, err = b.Do(req); err != nil {
			t.Fatal(err)
		}
		if page.Status != http.StatusBadRequest || !strings.HasPrefix(page.Message(), tt.want) {
			t.Fatalf("new password %q: %d %q, want %q", tt.next, page.Status, page.Message(), tt.want)
		}
	}
	hub := b.MustPostForm(t, st.url+"/password", form(old, next))
	if want := `CORP\` + user; hub.HubUser() != want {
		t.Fatalf("after the change: %d %s %q, want the hub as %s", hub.Status, hub.URL, hub.Message(), want)
	}
	if _, err := st.p.Login(context.Background(), user, old); !strings.Contains(errString(err), "wrong_password") {
		t.Errorf("the old password after the change: %v, want wrong_password", err)
	}
	for _, pw := range []string{old, next} {
		if strings.Contains(st.logs.String(), pw) {
			t.Errorf("the password %q appears in the log", pw)
		}
	}
}

// TestPasswordChangeThroughQlikSamba is the whole flow against the real
// Samba AD DC: nina must change her password at next logon (773), quinn's
// has expired (532); each opens the Qlik hub, signs in, changes the
// password on qlikgate's page and lands in the hub. It lives here, beside
// providers/ldap's own Samba tests, because Samba's ports are fixed: a web
// test with its own Samba would collide with this package's when packages
// run in parallel.
func TestPasswordChangeThroughQlikSamba(t *testing.T) {
	s := ldap.NeedSamba(t)
	st := newChangeStack(t, ldap.SambaConfig(s, func(c *ldap.Config) { c.PasswordChange.Enabled = true }))
	// What Samba refuses comes back translated, on the same page.
	st.changeThroughQlik(t, "nina", s.Password("nina"), "N3w-Passw0rd-nina!", "password_must_change", []refusal{
		{"Ab1!", "en", "The new password is too short."},
		{"abcdefghijklmnop", "de", "Das neue Passwort ist nicht komplex genug"},
		{s.Password("nina"), "fr", "Vous avez déjà utilisé ce mot de passe."},
	})
	t.Run("expired (532)", func(t *testing.T) {
		if !s.PasswordExpired {
			t.Skipf("Samba could not age the password: %v", s.PasswordExpiredErr)
		}
		st.changeThroughQlik(t, "quinn", s.Password("quinn"), "N3w-Passw0rd-quinn!", "password_expired", nil)
	})
}

// TestPasswordChangeThroughQlikSlapd is the same flow against the real
// slapd with the ppolicy overlay, over LDAPS: ruth's password was reset by
// an administrator (pwdReset), ezra's has expired with grace logins left;
// ppolicy's refusals come back translated.
func TestPasswordChangeThroughQlikSlapd(t *testing.T) {
	s := ldap.NeedSlapd(t)
	st := newChangeStack(t, ldap.SlapdConfig(s, func(c *ldap.Config) {
		c.URLs, c.CAFile, c.PasswordChange.Enabled = []string{s.LDAPSURL}, s.CAFile, true
	}))
	t.Run("reset by an administrator", func(t *testing.T) {
		st.changeThroughQlik(t, "ruth", "ruthpass", "N3w-Passw0rd-ruth", "password_must_change", []refusal{
			{"short", "en", "The new password is too short."},
			{"ruthpass", "fr", "Vous avez déjà utilisé ce mot de passe."},
		})
	})
	t.Run("expired", func(t *testing.T) {
		st.changeThroughQlik(t, "ezra", "ezrapass", "N3w-Passw0rd-ezra", "password_expired", []refusal{
			{"short", "de", "Das neue Passwort ist zu kurz"},
		})
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
