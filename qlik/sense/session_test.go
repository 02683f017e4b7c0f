package sense

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web/webtest"
)

func TestCheckCookieScope(t *testing.T) {
	tests := []struct {
		domain, public, hub string
		want                string // "" = accepted
	}{
		{"", "http://127.0.0.1:8080/", "http://127.0.0.1:8081/hub/", ""},
		{".corp.local", "https://auth.corp.local/", "https://sense.corp.local/hr/hub/", ""},
		{"corp.local", "https://auth.corp.local/", "https://sense.eu.corp.local/hub/", ""},
		{"", "https://auth.corp.local/", "https://sense.corp.local/hub/", "never sends it to the hub at sense.corp.local"},
		{".corp.local", "https://auth.other.com/", "https://sense.corp.local/hub/", "does not cover qlikgate (server.public_url) at auth.other.com"},
		{".other.com", "https://auth.other.com/", "https://sense.corp.local/hub/", "does not cover the hub (hub_url) at sense.corp.local"},
		{".evilcorp.local", "https://auth.corp.local/", "https://sense.corp.local/hub/", "does not cover"},
		{"local", "https://auth.corp.local/", "https://sense.corp.local/hub/", "top-level name"},
		{"127.0.0.1", "http://127.0.0.1/", "http://127.0.0.1/hub/", "an IP address"},
		{".corp.local", "http://auth.corp.local/", "https://sense.corp.local/hub/", "refuse a Secure cookie set by an http page"},
	}
	for _, tt := range tests {
		hub, _ := url.Parse(tt.hub)
		err := checkCookieScope(tt.domain, tt.public, hub)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q %s %s: %v", tt.domain, tt.public, tt.hub, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "cookie_domain: ")):
			t.Errorf("%q %s %s: %v, want an error about %q", tt.domain, tt.public, tt.hub, err, tt.want)
		}
	}
}

func TestOnHub(t *testing.T) {
	const hub = "https://sense.corp.local/hr/hub/"
	tests := []struct{ in, want string }{
		{"https://sense.corp.local/hr/sense/app/1", "https://sense.corp.local/hr/sense/app/1"},
		{"/hr/extensions/mashup/index.html?x=1", "https://sense.corp.local/hr/extensions/mashup/index.html?x=1"},
		{"https://SENSE.corp.local/hr/hub/", "https://SENSE.corp.local/hr/hub/"},
		{"https://sense.corp.local:443/hr/hub/", "https://sense.corp.local:443/hr/hub/"},
		{"HTTPS://sense.corp.local/hr/hub/", "https://sense.corp.local/hr/hub/"},
		{"https://sense.corp.local:8443/hr/hub/", ""},
		{"http://sense.corp.local/hr/hub/", ""},
		{"http://sense.corp.local:443/hr/hub/", ""},
		{"https://qlik@sense.corp.local/hr/hub/", ""},
		{`https:\\evil.example/`, ""},
		{"https:evil.example", ""},
		{"/%2F%2Fevil.example/", ""},
		{"https://sense%2Ecorp.local/", ""},
		{"https://\u212Aense.corp.local/", ""},
		{"https://sense.corp.local./hr/hub/", ""},
		{"https://evil.example/", ""},
		{"//evil.example/", ""},
		{"/\\evil.example/", ""},
		{"https://sense.corp.local@evil.example/", ""},
		{"https://sense.corp.local.evil.example/", ""},
		{"hub/", ""},
		{"javascript:alert(1)", ""},
		{"/hr/hub/\r\nSet-Cookie:x", ""},
	}
	// An http hub on a port of its own: https on that host is an upgrade.
	const httpHub = "http://sense.corp.local:8080/hr/hub/"
	for _, tt := range []struct{ in, want string }{
		{"http://sense.corp.local:8080/hr/x", "http://sense.corp.local:8080/hr/x"},
		{"/hr/x", "http://sense.corp.local:8080/hr/x"},
		{"https://sense.corp.local:8080/hr/x", ""},
		{"http://sense.corp.local/hr/x", ""},
	} {
		got, err := onHub(httpHub, tt.in)
		if (tt.want == "") != (err != nil) || got != tt.want {
			t.Errorf("onHub(%s, %q) = %q, %v; want %q", httpHub, tt.in, got, err, tt.want)
		}
	}
	for _, tt := range tests {
		got, err := onHub(hub, tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("onHub(%q) = %q, want refused", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("onHub(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNewSessionID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newSessionID()
		if !v4.MatchString(id) || seen[id] {
			t.Fatalf("session id %q is not a fresh UUID v4", id)
		}
		seen[id] = true
	}
}

func sessionTarget(t *testing.T, mod func(*SessionConfig)) (*qliksim.Sense, *SessionTarget) {
	t.Helper()
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	files, err := sim.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := &SessionConfig{Config: *DefaultConfig(), SessionCookieName: sim.CookieName()}
	cfg.ProxyRestURI = sim.ProxyRestURI()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	cfg.HubURL = sim.HubURL()
	if mod != nil {
		mod(cfg)
	}
	tgt, err := OpenSession(context.Background(), qlik.Common{ID: "session"}, cfg, qlik.Env{PublicURL: "http://127.0.0.1:1/", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	return sim, tgt
}

func TestSessionLogin(t *testing.T) {
	sim, tgt := sessionTarget(t, nil)
	sim.SetModuleURL("http://module.invalid/")
	e, err := tgt.ParseEntry(url.Values{"returnto": {"/hr/hub/stream/9"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := tgt.Login(context.Background(), alice, e)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Cookies) != 1 {
		t.Fatalf("cookies = %v", h.Cookies)
	}
	ck := h.Cookies[0]
	if ck.Name != sim.CookieName() || ck.Path != "/" || !ck.HttpOnly || ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Domain != "" {
		t.Errorf("cookie = %+v", ck)
	}
	sd, ok := sim.Session(ck.Value)
	if !ok || sd.UserDirectory != "CORP" || sd.UserId != "alice" || len(sd.Attributes) != 2 || sd.Attributes[1]["Group"] != "EU" {
		t.Fatalf("QPS session for the cookie: %+v %v", sd, ok)
	}
	if h.Redirect != sim.HubURL()+"stream/9" {
		t.Errorf("redirect = %q", h.Redirect)
	}
	// The browser presents the cookie to the hub and is in.
	b := webtest.NewBrowser()
	u, _ := url.Parse(sim.HubURL())
	b.Client.Jar.SetCookies(u, h.Cookies)
	if p := b.NoFollow().MustGet(t, h.Redirect); p.Status != http.StatusOK || p.HubUser() != `CORP\alice` {
		t.Fatalf("hub with the session cookie: %d\n%s", p.Status, p.Body)
	}

	// A second login gets a different session id.
	h2, err := tgt.Login(context.Background(), alice, qlik.Entry{})
	if err != nil || h2.Cookies[0].Value == ck.Value || h2.Redirect != sim.HubURL() {
		t.Fatalf("second login: %+v %v", h2, err)
	}

	out, err := tgt.Logout(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Cookies) != 1 || out.Cookies[0].MaxAge != -1 || out.Cookies[0].Name != sim.CookieName() {
		t.Errorf("logout cookies = %+v", out.Cookies)
	}
	if _, ok := sim.Session(ck.Value); ok {
		t.Error("the proxy session survived logout")
	}
}

func TestSessionEntryAndConfig(t *testing.T) {
	_, tgt := sessionTarget(t, nil)
	if _, err := tgt.ParseEntry(url.Values{"returnto": {"https://evil.example/"}}); !errors.Is(err, qlik.ErrBadEntry) {
		t.Errorf("foreign returnto: %v", err)
	}
	cfg := &SessionConfig{Config: *validConfig()}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "session_cookie_name: required") {
		t.Errorf("Validate without a cookie name: %v", err)
	}
	cfg.SessionCookieName, cfg.CookieDomain = "X Qlik", "corp.local/x"
	err = cfg.Validate()
	for _, w := range []string{"session_cookie_name: \"X Qlik\" is not a valid cookie name", "cookie_domain: "} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v, want %q", err, w)
		}
	}
	cfg.SessionCookieName, cfg.CookieDomain = "X-Qlik-Session-hr", ".corp.local"
	cfg.HubURL = "https://sense.other.com/hr/hub/"
	_, err = OpenSession(context.Background(), qlik.Common{ID: "s"}, cfg, qlik.Env{PublicURL: "https://auth.corp.local/", Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "does not cover the hub") {
		t.Errorf("OpenSession with a cookie domain that misses the hub: %v", err)
	}
}
