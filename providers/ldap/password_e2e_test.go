package ldap_test

import (
	"context"
	"io"
	"log/slog"
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

// TestPasswordChangeThroughQlikSamba is the whole flow against the real
// Samba AD DC: nina must change her password at next logon (773); she
// opens the Qlik hub, signs in, changes her password on qlikgate's page
// and lands in the hub, as CORP\nina. It lives here, beside providers/ldap's
// own Samba tests, because Samba's ports are fixed: a web test with its own
// Samba would collide with this package's when packages run in parallel.
func TestPasswordChangeThroughQlikSamba(t *testing.T) {
	s := ldap.NeedSamba(t)
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr", Logf: t.Logf})
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
	cfg := ldap.SambaConfig(s, func(c *ldap.Config) { c.PasswordChange.Enabled = true })
	common := providers.Common{ID: "corp", Kind: "ldap", Directory: "CORP"}
	p, err := ldap.Open(context.Background(), common, &cfg, providers.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })

	ts := httptest.NewUnstartedServer(nil)
	wc := web.DefaultConfig()
	wc.Server.PublicURL = "http://" + ts.Listener.Addr().String() + "/"
	wc.Session.Secret = strings.Repeat("s", 40)
	srv, err := web.New(web.Options{Config: wc, Providers: []web.Provider{{Common: common, Impl: p}}, Targets: []qlik.Target{target},
		DefaultTarget: "sense", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	sim.SetModuleURL(ts.URL + "/")

	b := webtest.NewBrowser()
	login := b.MustGet(t, sim.HubURL())
	if !login.IsLoginPage() {
		t.Fatalf("the hub did not lead to the login page: %d %s", login.Status, login.URL)
	}
	old, next := s.Password("nina"), "N3w-Passw0rd-nina!"
	page := b.MustPostForm(t, ts.URL+"/login", login.MustLoginForm(t, "nina", old))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="new-password"`) {
		t.Fatalf("a must-change login (773): %d %q, want the change page", page.Status, page.Message())
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
	// What Samba refuses comes back translated, on the same page.
	for _, tt := range []struct{ next, lang, want string }{
		{"Ab1!", "en", "The new password is too short."},
		{"abcdefghijklmnop", "de", "Das neue Passwort ist nicht komplex genug"},
		{old, "fr", "Vous avez déjà utilisé ce mot de passe."},
	} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/password", strings.NewReader(form(old, tt.next).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", tt.lang)
		if page, err = b.Do(req); err != nil {
			t.Fatal(err)
		}
		if page.Status != http.StatusBadRequest || !strings.HasPrefix(page.Message(), tt.want) {
			t.Fatalf("new password %q: %d %q, want %q", tt.next, page.Status, page.Message(), tt.want)
		}
	}
	hub := b.MustPostForm(t, ts.URL+"/password", form(old, next))
	if hub.HubUser() != `CORP\nina` {
		t.Fatalf("after the change: %d %s %q, want the hub as CORP\\nina", hub.Status, hub.URL, hub.Message())
	}
	if _, err := p.Login(context.Background(), "nina", old); !strings.Contains(errString(err), "wrong_password") {
		t.Errorf("the old password after the change: %v, want wrong_password", err)
	}
	for _, pw := range []string{old, next} {
		if strings.Contains(logs.String(), pw) {
			t.Errorf("the password %q appears in the log", pw)
		}
	}
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
