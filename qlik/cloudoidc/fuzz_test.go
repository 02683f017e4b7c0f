package cloudoidc

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseEntry feeds arbitrary authorization requests to the entry. The
// oracle is what the tenant would receive: whatever the input, an accepted
// request is answered only at the registered redirect URI, for the
// configured client, with response_type code, the state byte for byte, a
// code, and nothing else; PKCE, when present, is S256.
func FuzzParseEntry(f *testing.F) {
	for _, q := range []string{
		authorizeQuery().Encode(),
		authorizeQuery(func(q url.Values) {
			q.Set("code_challenge", s256(strings.Repeat("v", 43)))
			q.Set("code_challenge_method", "S256")
		}).Encode(),
		"client_id=qlik-cloud&redirect_uri=https%3A%2F%2Facme.eu.qlikcloud.com%2Flogin%2Fcallback%3Fx%3D1&response_type=code&scope=openid",
		"client_id=qlik-cloud&redirect_uri=https://evil.example/&response_type=code&scope=openid",
		"client_id=qlik-cloud&client_id=x&redirect_uri=" + url.QueryEscape(testCallback) + "&response_type=code&scope=openid&state=%00%ff",
		"response_type=code%20id_token&scope=openid%20offline_access&prompt=none&max_age=0&id_token_hint=x",
		authorizeQuery(func(q url.Values) { q.Set("prompt", "none") }).Encode(),
		authorizeQuery(func(q url.Values) { q.Set("prompt", "consent login"); q.Set("max_age", "30") }).Encode(),
	} {
		f.Add(q)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		e, err := fx.t.ParseEntry(q)
		if err != nil {
			return
		}
		if q.Get("client_id") != "qlik-cloud" || q.Get("redirect_uri") != testCallback || q.Get("response_type") != "code" {
			t.Fatalf("accepted client %q redirect %q response_type %q", q.Get("client_id"), q.Get("redirect_uri"), q.Get("response_type"))
		}
		if c := q.Get("code_challenge"); c != "" && q.Get("code_challenge_method") != "S256" {
			t.Fatalf("accepted PKCE method %q", q.Get("code_challenge_method"))
		}
		if len(q["prompt"]) > 1 || len(q["max_age"]) > 1 {
			t.Fatalf("accepted a repeated prompt or max_age: %q", raw)
		}
		prompts := strings.Split(q.Get("prompt"), " ") // as the library splits it
		if (e.NoLogin != "") != slices.Contains(prompts, "none") {
			t.Fatalf("prompt %q gave NoLogin %q", q.Get("prompt"), e.NoLogin)
		}
		if e.NoLogin != "" {
			n, err := url.Parse(e.NoLogin)
			if err != nil || n.Scheme+"://"+n.Host+n.Path != testCallback || n.Fragment != "" || n.User != nil {
				t.Fatalf("prompt=none answer %q is not at the registered URI", e.NoLogin)
			}
			nq := n.Query()
			if nq.Get("error") != "login_required" || nq.Has("code") {
				t.Fatalf("prompt=none answer %q", e.NoLogin)
			}
			if want := q.Get("state"); nq.Get("state") != want || (want == "" && nq.Has("state")) {
				t.Fatalf("prompt=none answer state %q, want %q", nq.Get("state"), want)
			}
		}
		if slices.Contains(prompts, "login") && (e.MaxAge == nil || *e.MaxAge != 0) {
			t.Fatalf("prompt %q gave MaxAge %v", q.Get("prompt"), e.MaxAge)
		}
		h, err := fx.t.Login(context.Background(), alice, e)
		if err != nil {
			t.Fatalf("accepted entry, then Login: %v", err)
		}
		u, err := url.Parse(h.Redirect)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Scheme + "://" + u.Host + u.Path; got != testCallback || u.Fragment != "" || u.User != nil {
			t.Fatalf("redirect %q is not the registered URI", h.Redirect)
		}
		got := u.Query()
		if got.Get("code") == "" || len(got["code"]) != 1 {
			t.Fatalf("redirect %q has no single code", h.Redirect)
		}
		if want := q.Get("state"); got.Get("state") != want || (want == "" && got.Has("state")) {
			t.Fatalf("state %q, want %q", got.Get("state"), want)
		}
		for k := range got {
			if k != "code" && k != "state" {
				t.Fatalf("redirect carries %s", k)
			}
		}
	})
}
