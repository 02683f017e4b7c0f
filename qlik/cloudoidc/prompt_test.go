package cloudoidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// TestPromptAndMaxAge: what the entry asks of the web layer for each
// prompt and max_age (OIDC Core 3.1.2.1).
func TestPromptAndMaxAge(t *testing.T) {
	f := newFixture(t)
	dur := func(d time.Duration) *time.Duration { return &d }
	loginRequired := testCallback + "?" + url.Values{"error": {"login_required"},
		"error_description": {"no qlikgate sign-in to answer prompt=none"}, "state": {"st-1"}}.Encode()
	for _, tc := range []struct {
		name    string
		set     url.Values
		del     string
		maxAge  *time.Duration
		noLogin string
		refused string
	}{
		{name: "neither"},
		{name: "login", set: url.Values{"prompt": {"login"}}, maxAge: dur(0)},
		{name: "max_age", set: url.Values{"max_age": {"300"}}, maxAge: dur(300 * time.Second)},
		{name: "max_age 0", set: url.Values{"max_age": {"0"}}, maxAge: dur(0)},
		{name: "login wins over max_age", set: url.Values{"prompt": {"login"}, "max_age": {"300"}}, maxAge: dur(0)},
		{name: "max_age beyond a century is no bound", set: url.Values{"max_age": {"99999999999"}}},
		{name: "consent is a no-op", set: url.Values{"prompt": {"consent"}}},
		{name: "select_account is a no-op", set: url.Values{"prompt": {"select_account consent"}}},
		{name: "login with consent", set: url.Values{"prompt": {"consent login"}}, maxAge: dur(0)},
		{name: "none", set: url.Values{"prompt": {"none"}}, noLogin: loginRequired},
		{name: "none with max_age", set: url.Values{"prompt": {"none"}, "max_age": {"60"}}, maxAge: dur(time.Minute), noLogin: loginRequired},
		{name: "none without state", set: url.Values{"prompt": {"none"}}, del: "state",
			noLogin: testCallback + "?error=login_required&error_description=no+qlikgate+sign-in+to+answer+prompt%3Dnone"},
		{name: "none with another value", set: url.Values{"prompt": {"none login"}}, refused: "prompt"},
		{name: "none to an unregistered redirect_uri", set: url.Values{"prompt": {"none"}, "redirect_uri": {"https://evil.example/cb"}}, refused: "redirect_uri"},
		{name: "repeated prompt", set: url.Values{"prompt": {"login", "none"}}, refused: "prompt is repeated"},
		{name: "repeated max_age", set: url.Values{"max_age": {"0", "3600"}}, refused: "max_age is repeated"},
		{name: "negative max_age", set: url.Values{"max_age": {"-1"}}, refused: "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := authorizeQuery(func(q url.Values) {
				for k, v := range tc.set {
					q[k] = v
				}
				q.Del(tc.del)
			})
			e, err := f.t.ParseEntry(q)
			if tc.refused != "" {
				if !errors.Is(err, qlik.ErrBadEntry) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("err = %v, want a refused entry naming %s", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (e.MaxAge == nil) != (tc.maxAge == nil) || (e.MaxAge != nil && *e.MaxAge != *tc.maxAge) {
				t.Errorf("MaxAge = %v, want %v", fmtDur(e.MaxAge), fmtDur(tc.maxAge))
			}
			if e.NoLogin != tc.noLogin {
				t.Errorf("NoLogin = %q, want %q", e.NoLogin, tc.noLogin)
			}
			// prompt and max_age are the web layer's, not the code's.
			if k, _ := url.ParseQuery(e.ReturnTo); k.Has("prompt") || k.Has("max_age") {
				t.Errorf("kept request %q carries prompt or max_age", e.ReturnTo)
			}
		})
	}
}

func fmtDur(d *time.Duration) string {
	if d == nil {
		return "nil"
	}
	return d.String()
}

// TestAuthTimeIsTheSignIn: the ID token's auth_time is when the user
// signed in to qlikgate, not when single sign-on issued the code.
func TestAuthTimeIsTheSignIn(t *testing.T) {
	f := newFixture(t)
	f.now = time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name     string
		signedIn time.Time
		want     time.Time
	}{
		{"an hour ago", f.now.Add(-time.Hour), f.now.Add(-time.Hour)},
		{"not known", time.Time{}, f.now},
		{"in the future", f.now.Add(time.Hour), f.now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := f.t.ParseEntry(authorizeQuery())
			if err != nil {
				t.Fatal(err)
			}
			u := alice
			u.AuthTime = tc.signedIn
			h, err := f.t.Login(context.Background(), u, e)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := url.Parse(h.Redirect)
			status, out := f.token(t, codeForm(r.Query().Get("code")), true, testSecret)
			if status != 200 {
				t.Fatalf("token: %d %v", status, out)
			}
			if got := idTokenAuthTime(t, out["id_token"]); got != tc.want.Unix() {
				t.Errorf("auth_time = %d, want %d", got, tc.want.Unix())
			}
		})
	}
}

// idTokenAuthTime reads auth_time from an ID token's payload (the
// signature is checked by TestIndependentRelyingParty's library).
func idTokenAuthTime(tb testing.TB, tok any) int64 {
	tb.Helper()
	s, _ := tok.(string)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		tb.Fatalf("id_token %q is not a JWS", s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var claims struct {
		AuthTime *int64 `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.AuthTime == nil {
		tb.Fatalf("id_token payload %s: no auth_time (%v)", raw, err)
	}
	return *claims.AuthTime
}
