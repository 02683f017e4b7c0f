package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// handoffBenchTarget hands over without any I/O, so that
// BenchmarkHandoffWebLayer measures qlikgate's web layer alone.
type handoffBenchTarget struct{}

func (handoffBenchTarget) ID() string { return "sense" }
func (handoffBenchTarget) ParseEntry(q url.Values) (qlik.Entry, error) {
	return qlik.Entry{TargetID: q.Get("targetId")}, nil
}
func (handoffBenchTarget) Login(context.Context, qlik.User, qlik.Entry) (qlik.Handoff, error) {
	return qlik.Handoff{Redirect: "https://sense.corp.local/hub/?qlikTicket=AbCdEfGh12345678"}, nil
}
func (handoffBenchTarget) Logout(context.Context, qlik.User) (qlik.Handoff, error) {
	return qlik.Handoff{}, nil
}

// handoffBenchProvider accepts any password for a typical directory user.
type handoffBenchProvider struct{}

func (handoffBenchProvider) Login(_ context.Context, username, _ string) (providers.Identity, error) {
	return providers.Identity{
		Subject: "uid=" + username + ",ou=people,dc=example,dc=org", UserID: username,
		Name: "Alice Example", Email: "alice@example.org", Groups: []string{"Sales", "EU", "Analysts"},
		Attributes: map[string][]string{"Department": {"D-42"}},
	}, nil
}

// BenchmarkHandoffWebLayer is the single sign-on hand-off through
// qlikgate's handler chain with the network and Qlik taken out: request id,
// logging, security headers, routing, entry parsing, session decode, the
// redirect-loop counter and the redirect (a pass-through does not encode
// the unchanged session again). Whatever it costs
// is qlikgate's own CPU per hand-off, before any TLS or QPS. "log=info" is
// what a deployment runs with (one log line per hand-off, formatted and
// written); "log=off" shows how much of it is logging.
func BenchmarkHandoffWebLayer(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    slog.Handler
	}{
		{"log=info", slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})},
		{"log=off", slog.DiscardHandler},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, cookie := handoffBenchServer(b, slog.New(bc.h))
			entry := "/?targetId=0f7d9a4e-3c1b-4e8a-9b2d-5a6c7e8f9012"
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, entry, nil)
					req.AddCookie(cookie)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusFound {
						b.Errorf("hand-off: %d", w.Code)
						return
					}
				}
			})
		})
	}
}

// handoffBenchServer builds qlikgate's web layer with the stub provider and
// target, signs in once and returns the handler and the session cookie.
func handoffBenchServer(b testing.TB, log *slog.Logger) (http.Handler, *http.Cookie) {
	b.Helper()
	cfg := web.DefaultConfig()
	cfg.Server.PublicURL = "https://auth.corp.local/"
	cfg.Session.Secret = strings.Repeat("s", 40)
	srv, err := web.New(web.Options{
		Config:        cfg,
		Providers:     []web.Provider{{Common: providers.Common{ID: "corp", Directory: "CORP"}, Impl: handoffBenchProvider{}}},
		Targets:       []qlik.Target{handoffBenchTarget{}},
		DefaultTarget: "sense",
		Logger:        log,
	})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://auth.corp.local/", nil))
	u, _ := url.Parse("https://auth.corp.local/")
	page := webtest.Page{Status: w.Code, URL: u, Body: w.Body.String()}
	form, err := page.LoginForm("alice", "pw")
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "https://auth.corp.local/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range w.Result().Cookies() {
		req.AddCookie(c)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusFound {
		b.Fatalf("login: %d\n%s", w.Code, w.Body.String())
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "qlikgate" {
			return h, c
		}
	}
	b.Fatal("login set no qlikgate cookie")
	return nil, nil
}
