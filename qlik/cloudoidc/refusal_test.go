package cloudoidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

func TestAuthorizationRefusals(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		mod  func(url.Values)
		want string
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "evil") }, "unknown client_id"},
		{"missing client", func(q url.Values) { q.Del("client_id") }, "client_id missing"},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "redirect_uri"},
		{"alias redirect", func(q url.Values) { q.Set("redirect_uri", "https://alias.acme.com/login/callback") }, "redirect_uri"},
		{"redirect with extra path", func(q url.Values) { q.Set("redirect_uri", testCallback+"/x") }, "redirect_uri"},
		{"response_type token", func(q url.Values) { q.Set("response_type", "token") }, "response_type"},
		{"response_type code id_token", func(q url.Values) { q.Set("response_type", "code id_token") }, "response_type"},
		{"no openid", func(q url.Values) { q.Set("scope", "profile") }, "openid"},
		{"pkce plain", func(q url.Values) {
			q.Set("code_challenge", strings.Repeat("a", 43))
			q.Set("code_challenge_method", "plain")
		}, "S256"},
		{"pkce no method", func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 43)) }, "S256"},
		{"request object", func(q url.Values) { q.Set("request", "eyJ") }, "request"},
		{"response_mode fragment", func(q url.Values) { q.Set("response_mode", "fragment") }, "response_mode"},
		{"repeated redirect", func(q url.Values) { q.Add("redirect_uri", "https://evil.example/cb") }, "repeated"},
		{"huge state", func(q url.Values) { q.Set("state", strings.Repeat("s", maxState+1)) }, "state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.t.ParseEntry(authorizeQuery(tc.mod))
			if !errors.Is(err, qlik.ErrBadEntry) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrBadEntry mentioning %q", err, tc.want)
			}
		})
	}
}

func TestTokenRefusals(t *testing.T) {
	f := newFixture(t)
	t.Run("wrong secret is 401 invalid_client", func(t *testing.T) {
		for _, basic := range []bool{true, false} {
			code := f.code(t, authorizeQuery())
			status, body := f.token(t, codeForm(code), basic, "wrong-secret")
			if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Fatalf("basic=%v: %d %v", basic, status, body)
			}
		}
		if !strings.Contains(f.logs.String(), "wrong client_id or client_secret") {
			t.Errorf("no reason logged:\n%s", f.logs)
		}
	})
	t.Run("replayed code", func(t *testing.T) {
		code := f.code(t, authorizeQuery())
		if status, body := f.token(t, codeForm(code), true, testSecret); status != http.StatusOK || body["id_token"] == nil {
			t.Fatalf("first exchange: %d %v", status, body)
		}
		if status, body := f.token(t, codeForm(code), false, testSecret); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("replay: %d %v", status, body)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code := f.code(t, authorizeQuery())
		f.now = f.now.Add(CodeLifetime + time.Second)
		defer func() { f.now = time.Now() }()
		if status, body := f.token(t, codeForm(code), true, testSecret); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("expired: %d %v", status, body)
		}
	})
	t.Run("redirect_uri differs", func(t *testing.T) {
		code := f.code(t, authorizeQuery())
		form := codeForm(code)
		form.Set("redirect_uri", testTenant+"/other")
		if status, body := f.token(t, form, true, testSecret); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("pkce", func(t *testing.T) {
		verifier := strings.Repeat("v", 50)
		withPKCE := func(q url.Values) { q.Set("code_challenge", s256(verifier)); q.Set("code_challenge_method", "S256") }
		for _, tc := range []struct {
			name, verifier string
			want           int
		}{
			{"mismatch", strings.Repeat("w", 50), http.StatusBadRequest},
			{"missing", "", http.StatusBadRequest},
			{"right", verifier, http.StatusOK},
		} {
			code := f.code(t, authorizeQuery(withPKCE))
			form := codeForm(code)
			if tc.verifier != "" {
				form.Set("code_verifier", tc.verifier)
			}
			if status, body := f.token(t, form, true, testSecret); status != tc.want {
				t.Errorf("%s: %d %v", tc.name, status, body)
			}
		}
		// A verifier for a code issued without a challenge is refused too.
		form := codeForm(f.code(t, authorizeQuery()))
		form.Set("code_verifier", verifier)
		if status, _ := f.token(t, form, true, testSecret); status != http.StatusBadRequest {
			t.Errorf("unexpected verifier: %d", status)
		}
	})
	if strings.Contains(f.logs.String(), testSecret) {
		t.Error("the client secret appears in the log")
	}
}

func TestEndSessionRefusesUnlistedRedirect(t *testing.T) {
	f := newFixture(t)
	nf := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		uri    string
		status int
	}{
		{"https://evil.example/", http.StatusBadRequest},
		{testTenant + "/", http.StatusFound},
	} {
		resp, err := nf.Get(f.srv.URL + "/t/c/end_session?" + url.Values{"client_id": {"qlik-cloud"}, "post_logout_redirect_uri": {tc.uri}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.uri, resp.StatusCode, tc.status)
		}
		if loc := resp.Header.Get("Location"); tc.status == http.StatusFound && loc != tc.uri {
			t.Errorf("%s: Location %q", tc.uri, loc)
		} else if tc.status != http.StatusFound && loc != "" {
			t.Errorf("%s: refused but redirected to %q", tc.uri, loc)
		}
	}
	if !strings.Contains(f.logs.String(), "endpoint=end_session") {
		t.Errorf("the refusal is not logged:\n%s", f.logs)
	}
}

func TestUserWithoutEmailIsRefused(t *testing.T) {
	f := newFixture(t)
	e, err := f.t.ParseEntry(authorizeQuery())
	if err != nil {
		t.Fatal(err)
	}
	u := alice
	u.Email = ""
	if _, err := f.t.Login(context.Background(), u, e); err == nil || !strings.Contains(err.Error(), "no email address") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnservedLibraryRoutes(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/authorize?client_id=qlik-cloud", "/authorize/callback?id=x", "/device_authorization", "/healthz"} {
		resp, err := http.Get(f.srv.URL + "/t/c" + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}
