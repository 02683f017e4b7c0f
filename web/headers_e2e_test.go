package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// panicking is a password provider with a bug: it panics.
type panicking struct{}

func (panicking) Login(context.Context, string, string) (providers.Identity, error) {
	panic("a provider bug")
}

func withPanickingProvider() option {
	return withProvider(func(testing.TB, string, *slog.Logger) web.Provider {
		return web.Provider{Common: providers.Common{ID: "boom", Kind: "static", Label: "Boom", Directory: "BOOM"}, Impl: panicking{}}
	})
}

// TestSecurityHeadersOnEveryResponse: whatever qlikgate answers, and
// whichever middleware answers it, the answer carries the headers that
// keep it out of frames and sniffing.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s := newStack(t, withPanickingProvider(), withWeb(func(c *web.Config) {
		c.Security.FailureDelay, c.Security.MaxAttempts = 0, 1
	}))
	// loginForm is a fresh browser's filled-in login form.
	loginForm := func(t *testing.T, user, pw string) (*webtest.Browser, url.Values) {
		b := webtest.NewBrowser()
		f := b.MustGet(t, s.srv.URL+"/login").MustLoginForm(t, user, pw)
		f.Set("provider", "local")
		return b, f
	}
	post := func(t *testing.T, b *webtest.Browser, f url.Values, h http.Header) webtest.Page {
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/login", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header[k] = v
		}
		p, err := b.NoFollow().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		do     func(t *testing.T) webtest.Page
		status int
	}{
		{"login page", func(t *testing.T) webtest.Page { return webtest.NewBrowser().MustGet(t, s.srv.URL+"/login") }, http.StatusOK},
		{"404", func(t *testing.T) webtest.Page { return webtest.NewBrowser().MustGet(t, s.srv.URL+"/nope") }, http.StatusNotFound},
		{"405", func(t *testing.T) webtest.Page {
			req, _ := http.NewRequest(http.MethodPut, s.srv.URL+"/login", nil)
			p, err := webtest.NewBrowser().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, http.StatusMethodNotAllowed},
		{"413", func(t *testing.T) webtest.Page {
			b, f := loginForm(t, "alice", strings.Repeat("x", 100<<10))
			return post(t, b, f, nil)
		}, http.StatusRequestEntityTooLarge},
		{"429", func(t *testing.T) webtest.Page {
			b, f := loginForm(t, "carol", "wrong")
			if p := post(t, b, f, nil); p.Status != http.StatusUnauthorized {
				t.Fatalf("first attempt: %d", p.Status)
			}
			p := b.MustGet(t, s.srv.URL+"/login")
			f = p.MustLoginForm(t, "carol", "wrong")
			f.Set("provider", "local")
			return post(t, b, f, nil)
		}, http.StatusTooManyRequests},
		{"400", func(t *testing.T) webtest.Page {
			return webtest.NewBrowser().MustGet(t, s.srv.URL+"/t/sense/?targetId=x'")
		}, http.StatusBadRequest},
		{"403 CSRF token", func(t *testing.T) webtest.Page {
			b, f := loginForm(t, "alice", "alicepw")
			f.Set("csrf", "forged")
			return post(t, b, f, nil)
		}, http.StatusForbidden},
		{"403 Origin", func(t *testing.T) webtest.Page {
			b, f := loginForm(t, "alice", "alicepw")
			return post(t, b, f, http.Header{"Origin": {"https://evil.example"}})
		}, http.StatusForbidden},
		{"panic", func(t *testing.T) webtest.Page {
			b, f := loginForm(t, "alice", "alicepw")
			f.Set("provider", "boom")
			return post(t, b, f, nil)
		}, http.StatusInternalServerError},
		{"redirect to Qlik", func(t *testing.T) webtest.Page {
			b, f := loginForm(t, "alice", "alicepw")
			return post(t, b, f, nil)
		}, http.StatusFound},
		{"redirect /t/sense", func(t *testing.T) webtest.Page {
			return webtest.NewBrowser().NoFollow().MustGet(t, s.srv.URL+"/t/sense")
		}, http.StatusMovedPermanently},
		{"static file", func(t *testing.T) webtest.Page {
			return webtest.NewBrowser().MustGet(t, s.srv.URL+"/static/qlikgate.css")
		}, http.StatusOK},
		{"theme", func(t *testing.T) webtest.Page { return webtest.NewBrowser().MustGet(t, s.srv.URL+"/static/theme.css") }, http.StatusOK},
		{"healthz", func(t *testing.T) webtest.Page { return webtest.NewBrowser().MustGet(t, s.srv.URL+"/healthz") }, http.StatusOK},
		// No background checks run here: "starting".
		{"readyz", func(t *testing.T) webtest.Page { return webtest.NewBrowser().MustGet(t, s.srv.URL+"/readyz") }, http.StatusServiceUnavailable},
		{"metrics", func(t *testing.T) webtest.Page { return webtest.NewBrowser().MustGet(t, s.srv.URL+"/metrics") }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.do(t)
			if p.Status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.Status, tt.status, p.Body)
			}
			for h, want := range map[string]string{
				"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
				"Cross-Origin-Opener-Policy": "same-origin",
			} {
				if got := p.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if csp := p.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; ") || !strings.HasSuffix(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			if tt.name == "panic" && (strings.Contains(p.Body, "goroutine") || strings.Contains(p.Body, "a provider bug") || !strings.Contains(p.Body, `id="reference"`)) {
				t.Errorf("the panic page shows the panic or no reference:\n%s", p.Body)
			}
		})
	}
	if !strings.Contains(s.logs.String(), "event=panic") {
		t.Error("the panic was not logged")
	}
}
