package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// One slapd serves the package's tests; TestMain stops it.
var (
	slapdOnce sync.Once
	slapd     *ldaptest.Slapd
	slapdErr  error
	slapdDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if slapd != nil {
		_ = slapd.Stop()
	}
	if slapdDir != "" {
		_ = os.RemoveAll(slapdDir)
	}
	os.Exit(code)
}

func needSlapd(t testing.TB) *ldaptest.Slapd {
	t.Helper()
	slapdOnce.Do(func() {
		if slapdDir, slapdErr = os.MkdirTemp("", "qlikgate-web-slapd-"); slapdErr == nil {
			slapd, slapdErr = ldaptest.StartSlapd(slapdDir)
		}
	})
	if slapdErr != nil {
		ldaptest.SkipOrFail(t, slapdErr)
	}
	return slapd
}

// withLDAP adds an LDAP provider "corp" (directory CORP) reaching slapd at
// url, with nested groups.
func withLDAP(s *ldaptest.Slapd, url string, mods ...func(*ldap.Config)) option {
	return withProvider(func(t testing.TB, _ string, log *slog.Logger) web.Provider {
		cfg := ldap.NewConfig()
		cfg.URLs = []string{url}
		cfg.BindDN, cfg.BindPassword = s.BindDN, s.BindPass
		cfg.UserBase, cfg.GroupBase = s.BaseDN, "ou=groups,"+s.BaseDN
		nested := true
		cfg.NestedGroups = &nested
		cfg.Timeout, cfg.DialTimeout = 2*time.Second, time.Second
		for _, m := range mods {
			m(cfg)
		}
		common := providers.Common{ID: "corp", Kind: "ldap", Label: "Company account", Directory: "CORP"}
		p, err := ldap.Open(context.Background(), common, cfg, providers.Env{Log: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return web.Provider{Common: common, Impl: p}
	})
}

func TestLDAPLoginEndToEnd(t *testing.T) {
	sl := needSlapd(t)
	s := newStack(t, withLDAP(sl, sl.URL))
	tests := []struct {
		user, pw   string
		wantUser   string
		wantGroups []string
	}{
		{"alice", "alicepass", `CORP\alice`, []string{"Group=admins", "Group=users"}},
		{"DAVE", "davepass", `CORP\dave`, []string{"Group=dev", "Group=engineering", "Group=staff"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			b := webtest.NewBrowser()
			login := s.openHub(t, b, "")
			if !strings.Contains(login.Body, `<select id="provider"`) {
				t.Fatalf("two password providers but no provider select:\n%s", login.Body)
			}
			f := login.MustLoginForm(t, tt.user, tt.pw)
			f.Set("provider", "corp")
			hub := b.MustPostForm(t, s.srv.URL+"/login", f)
			if hub.HubUser() != tt.wantUser {
				t.Fatalf("hub user %q, want %q (%d %q)", hub.HubUser(), tt.wantUser, hub.Status, hub.Message())
			}
			for _, g := range tt.wantGroups {
				if !strings.Contains(hub.Body, g) {
					t.Errorf("hub lacks %s:\n%s", g, hub.Body)
				}
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		b := webtest.NewBrowser()
		f := s.openHub(t, b, "").MustLoginForm(t, "alice", "bobpass")
		f.Set("provider", "corp")
		if p := b.MustPostForm(t, s.srv.URL+"/login", f); p.Status != http.StatusUnauthorized || p.Message() != "The username or password is incorrect." {
			t.Fatalf("wrong LDAP password: %d %q", p.Status, p.Message())
		}
	})
}

func TestLDAPServerDownShowsUnavailable(t *testing.T) {
	sl := needSlapd(t)
	proxy, err := ldaptest.StartProxy(sl.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	s := newStack(t, withLDAP(sl, proxy.URL))
	b := webtest.NewBrowser()
	f := s.openHub(t, b, "").MustLoginForm(t, "alice", "alicepass")
	f.Set("provider", "corp")
	if p := b.MustPostForm(t, s.srv.URL+"/login", f); p.HubUser() != `CORP\alice` {
		t.Fatalf("login through the proxy: %d %q", p.Status, p.Message())
	}
	proxy.SetMode(ldaptest.Reset) // the directory goes away mid-run
	b = webtest.NewBrowser()
	login := s.openHub(t, b, "")
	f = login.MustLoginForm(t, "alice", "alicepass")
	f.Set("provider", "corp")
	start := time.Now()
	p := b.MustPostForm(t, s.srv.URL+"/login", f)
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Message(), "temporarily unavailable") {
		t.Fatalf("directory down: %d %q", p.Status, p.Message())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the unavailable answer took %v", d)
	}
	// The static provider still works meanwhile.
	f = p.MustLoginForm(t, "alice", "alicepw")
	f.Set("provider", "local")
	if p := b.MustPostForm(t, s.srv.URL+"/login", f); p.HubUser() != `CORP\alice` {
		t.Fatalf("static provider while LDAP is down: %d %q", p.Status, p.Message())
	}
}
