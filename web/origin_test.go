package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestNormalOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://auth.example.com/", "https://auth.example.com", true},
		{"https://auth.example.com:443/qlikgate/", "https://auth.example.com", true},
		{"HTTPS://Auth.Example.COM", "https://auth.example.com", true},
		{"http://auth.example.com:80", "http://auth.example.com", true},
		{"http://auth.example.com:443", "http://auth.example.com:443", true},
		{"https://auth.example.com:8443", "https://auth.example.com:8443", true},
		{"http://[::1]:8080/", "http://[::1]:8080", true},
		{"https://[::1]:443", "https://[::1]", true},
		{"null", "", false},
		{"", "", false},
		{"ftp://auth.example.com", "", false},
		{"https://user@auth.example.com", "", false},
		{"https://", "", false},
		{"auth.example.com", "", false},
	}
	for _, tt := range tests {
		got, ok := normalOrigin(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalOrigin(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestEmbedOrigins: a route registered with extra origins takes posts
// from them, and the other routes still do not.
func TestEmbedOrigins(t *testing.T) {
	guard, err := newOriginGuard("https://auth.example.com/qlikgate/")
	if err != nil {
		t.Fatal(err)
	}
	embed, err := guard.with("https://portal.example.com:443")
	if err != nil {
		t.Fatal(err)
	}
	req := func(origin string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Origin", origin)
		return r
	}
	for _, tt := range []struct {
		g      originGuard
		origin string
		want   string
	}{
		{guard, "https://auth.example.com", ""},
		{guard, "https://auth.example.com:443", ""},
		{guard, "https://portal.example.com", "origin"},
		{embed, "https://portal.example.com", ""},
		{embed, "https://auth.example.com", ""},
		{embed, "https://evil.example", "origin"},
	} {
		if got := tt.g.refusal(req(tt.origin)); got != tt.want {
			t.Errorf("%v refusal(%s) = %q, want %q", tt.g.allowed, tt.origin, got, tt.want)
		}
	}
	if _, err := guard.with("https://portal.example.com/path?x"); err == nil {
		t.Error("an origin with a query was accepted")
	}
}

// TestUnguardedPostRefused: a state-changing route registered without the
// Origin check stops the server from starting.
func TestUnguardedPostRefused(t *testing.T) {
	guard, _ := newOriginGuard("https://auth.example.com/")
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		e := echo.New()
		r := &guardedRoutes{g: e.Group(""), guard: guard, seen: map[string]bool{}}
		if err := r.post("/login", func(echo.Context) error { return nil }, msgExpiredForm); err != nil {
			t.Fatal(err)
		}
		e.GET("/other", func(echo.Context) error { return nil })
		if err := r.check(e); err != nil {
			t.Fatalf("guarded routes refused: %v", err)
		}
		e.Add(method, "/other", func(echo.Context) error { return nil })
		if err := r.check(e); err == nil || !strings.Contains(err.Error(), method+" /other") {
			t.Errorf("%s /other without the check: %v", method, err)
		}
	}
}
