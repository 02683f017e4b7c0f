package qliksim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseTokenRequest: whatever values a client sends, the simulator
// reads back exactly those values, from a JSON body and from a form body
// (user_lookup as a JSON string or as bracketed keys) alike, so its
// strictness judges what the client sent and nothing else.
func FuzzParseTokenRequest(f *testing.F) {
	f.Add("embed", "s3cret", CloudGrantImpersonation, "user_default", "subject", "CORP\\jdoe")
	f.Add("", "", "", "", "", "")
	f.Add("a b", "x&y=z", "client_credentials", "admin_classic user_default", "email", "j@x.org")
	f.Fuzz(func(t *testing.T, id, secret, grant, scope, field, value string) {
		want := tokenRequest{ClientID: id, ClientSecret: secret, GrantType: grant, Scope: scope, UserLookup: userLookup{field, value}}
		body, err := json.Marshal(map[string]any{"client_id": id, "client_secret": secret, "grant_type": grant, "scope": scope,
			"user_lookup": map[string]string{"field": field, "value": value}})
		if err != nil {
			t.Skip()
		}
		// JSON turns invalid UTF-8 into U+FFFD: compare with what was sent.
		var sent tokenRequest
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatal(err)
		}
		lookup, _ := json.Marshal(map[string]string{"field": field, "value": value})
		var sentLookup userLookup
		_ = json.Unmarshal(lookup, &sentLookup)
		forms := map[string]url.Values{
			"json string": {"client_id": {id}, "client_secret": {secret}, "grant_type": {grant}, "scope": {scope}, "user_lookup": {string(lookup)}},
			"brackets":    {"client_id": {id}, "client_secret": {secret}, "grant_type": {grant}, "scope": {scope}, "user_lookup[field]": {field}, "user_lookup[value]": {value}},
		}
		check := func(how, ct, raw string, want tokenRequest) {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(raw))
			r.Header.Set("Content-Type", ct)
			got, e := parseTokenRequest(r)
			if e != nil {
				t.Fatalf("%s: refused %q: %s", how, raw, e.detail)
			}
			if got != want {
				t.Fatalf("%s: read %+v, sent %+v", how, got, want)
			}
		}
		check("json", "application/json", string(body), sent)
		for how, form := range forms {
			w := want
			if how == "json string" {
				w.UserLookup = sentLookup
			}
			check("form "+how, "application/x-www-form-urlencoded", form.Encode(), w)
		}
	})
}
