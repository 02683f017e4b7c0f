package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/oidc"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// withOIDC adds an OIDC provider "idp" (directory OIDC) backed by op.
func withOIDC(op *oidctest.OP, mod func(*oidc.Config)) option {
	return withProvider(func(t testing.TB, publicURL string, log *slog.Logger) web.Provider {
		callback := publicURL + "callback/idp"
		op.RegisterClient(oidctest.Client{ID: "qlikgate", Secret: "s3cret", RedirectURIs: []string{callback}})
		cfg := oidc.NewConfig()
		cfg.Issuer, cfg.ClientID, cfg.ClientSecret = op.Issuer(), "qlikgate", "s3cret"
		cfg.UserIDClaim = "preferred_username"
		if mod != nil {
			mod(cfg)
		}
		common := providers.Common{ID: "idp", Kind: "oidc", Label: "Sign in with Example ID", Directory: "OIDC"}
		p, err := oidc.Open(context.Background(), common, cfg, providers.Env{CallbackURL: callback, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return web.Provider{Common: common, Impl: p}
	})
}

func TestOIDCLoginEndToEnd(t *testing.T) {
	op := oidctest.Start(t)
	s := newStack(t, withOIDC(op, nil))
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "stream/5")
	if !strings.Contains(login.Body, `id="provider-idp"`) || !strings.Contains(login.Body, "Sign in with Example ID") {
		t.Fatalf("no OIDC button on the login page:\n%s", login.Body)
	}
	start := s.srv.URL + "/login/idp?flow=" + url.QueryEscape(login.MustLoginForm(t, "", "").Get("flow"))
	cb := op.Login(t, b.Client, start, "alice", "alicepass")
	hub := b.MustGet(t, cb.String())
	if hub.Status != http.StatusOK || hub.HubUser() != `OIDC\alice` {
		t.Fatalf("after the OIDC callback: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	for _, g := range []string{"Group=admins", "Group=users"} {
		if !strings.Contains(hub.Body, g) {
			t.Errorf("hub lacks %s from the token's groups claim:\n%s", g, hub.Body)
		}
	}
	if !strings.HasSuffix(hub.URL.Path, "/hub/stream/5") {
		t.Errorf("the Qlik entry was lost across the round trip: landed on %s", hub.URL)
	}
	// The code is single-use and the flow is consumed: replaying the
	// callback does not sign anyone in.
	replay := webtest.NewBrowser().MustGet(t, cb.String())
	if replay.Status != http.StatusBadRequest || replay.Message() != "Your sign-in took too long or was started in another window. Please try again." {
		t.Fatalf("replayed callback in another browser: %d %q", replay.Status, replay.Message())
	}
	again := b.MustGet(t, cb.String())
	if again.Status != http.StatusBadRequest {
		t.Fatalf("replayed callback in the same browser: %d", again.Status)
	}
}

func TestOIDCFailures(t *testing.T) {
	op := oidctest.Start(t)
	s := newStack(t, withOIDC(op, func(c *oidc.Config) { c.AllowedGroups = []string{"admins"} }))

	t.Run("wrong state", func(t *testing.T) {
		b := webtest.NewBrowser()
		login := s.openHub(t, b, "")
		cb := op.Login(t, b.Client, s.srv.URL+"/login/idp?flow="+login.MustLoginForm(t, "", "").Get("flow"), "alice", "alicepass")
		q := cb.Query()
		q.Set("state", "forged")
		cb.RawQuery = q.Encode()
		if p := b.MustGet(t, cb.String()); p.Status != http.StatusBadRequest || p.HubUser() != "" {
			t.Fatalf("forged state: %d", p.Status)
		}
	})
	t.Run("access denied at the provider", func(t *testing.T) {
		b := webtest.NewBrowser()
		login := s.openHub(t, b, "")
		p := b.NoFollow().MustGet(t, s.srv.URL+"/login/idp?flow="+login.MustLoginForm(t, "", "").Get("flow"))
		authURL, err := url.Parse(p.Header.Get("Location"))
		if err != nil || p.Status != http.StatusFound {
			t.Fatalf("start: %d %v", p.Status, err)
		}
		// The user cancels: the provider answers error=access_denied.
		cb := s.srv.URL + "/callback/idp?" + url.Values{"state": {authURL.Query().Get("state")}, "error": {"access_denied"}}.Encode()
		got := b.MustGet(t, cb)
		if got.Status != http.StatusUnauthorized || !strings.Contains(got.Message(), "cancelled or refused") || !got.IsLoginPage() {
			t.Fatalf("access_denied: %d %q", got.Status, got.Message())
		}
		if !strings.Contains(got.Body, got.Header.Get("X-Request-Id")) {
			t.Error("no reference id shown with the error")
		}
	})
	t.Run("user not in allowed_groups", func(t *testing.T) {
		b := webtest.NewBrowser()
		login := s.openHub(t, b, "")
		cb := op.Login(t, b.Client, s.srv.URL+"/login/idp?flow="+login.MustLoginForm(t, "", "").Get("flow"), "bob", "bobpass")
		p := b.MustGet(t, cb.String())
		if p.HubUser() != "" || p.Status == http.StatusOK || !strings.Contains(p.Message(), "not allowed") {
			t.Fatalf("bob (not in admins): %d %q", p.Status, p.Message())
		}
	})
	t.Run("expired flow", func(t *testing.T) {
		b := webtest.NewBrowser()
		login := s.openHub(t, b, "")
		cb := op.Login(t, b.Client, s.srv.URL+"/login/idp?flow="+login.MustLoginForm(t, "", "").Get("flow"), "alice", "alicepass")
		s.clock.Advance(11 * time.Minute)
		if p := b.MustGet(t, cb.String()); p.Status != http.StatusBadRequest {
			t.Fatalf("callback after 11 minutes: %d", p.Status)
		}
	})
	logs := s.logs.String()
	for _, w := range []string{"reason=state_mismatch", "access_denied", "reason=flow_expired"} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q", w)
		}
	}
}

func TestOIDCIssuerDownAtStart(t *testing.T) {
	op := oidctest.Start(t)
	op.Stop()
	s := newStack(t, withOIDC(op, nil))
	b := webtest.NewBrowser()
	login := s.openHub(t, b, "")
	if !strings.Contains(login.Body, "(unavailable)") {
		t.Errorf("the button does not show the provider as unavailable:\n%s", login.Body)
	}
	// The password provider still works meanwhile.
	if p := b.MustPostForm(t, s.srv.URL+"/login", login.MustLoginForm(t, "alice", "alicepw")); p.HubUser() != `CORP\alice` {
		t.Fatalf("password login while the issuer is down: %d", p.Status)
	}
	b2 := webtest.NewBrowser()
	login = s.openHub(t, b2, "")
	p := b2.MustGet(t, s.srv.URL+"/login/idp?flow="+login.MustLoginForm(t, "", "").Get("flow"))
	if p.Status != http.StatusServiceUnavailable {
		t.Fatalf("starting an OIDC login with the issuer down: %d", p.Status)
	}
	op.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		login = s.openHub(t, b2, "")
		if !strings.Contains(login.Body, "(unavailable)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the provider did not become available after the issuer came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cb := op.Login(t, b2.Client, s.srv.URL+"/login/idp?flow="+login.MustLoginForm(t, "", "").Get("flow"), "alice", "alicepass")
	if hub := b2.MustGet(t, cb.String()); hub.HubUser() != `OIDC\alice` {
		t.Fatalf("after the issuer came back: %d", hub.Status)
	}
}

func TestProviderParamStartsRedirectLogin(t *testing.T) {
	op := oidctest.Start(t)
	s := newStack(t, withOIDC(op, nil))
	p := webtest.NewBrowser().NoFollow().MustGet(t, s.srv.URL+"/login?provider=idp&login_hint=alice")
	loc := p.Header.Get("Location")
	if p.Status != http.StatusFound || !strings.HasPrefix(loc, "/login/idp?") || !strings.Contains(loc, "login_hint=alice") {
		t.Fatalf("?provider=idp: %d %q", p.Status, loc)
	}
}
