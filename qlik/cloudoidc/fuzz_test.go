package cloudoidc

import (
	"context"
	"net/url"
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
