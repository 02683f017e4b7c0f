package qliksim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestCloudJWTRules(t *testing.T) {
	c, clock, _ := newCloudSim(t)
	ks := testCloudKeys(t)
	now := clock.Now().Unix()

	type tc struct {
		name   string
		header func(h map[string]any)
		claims func(cl map[string]any)
		key    any // default: the RSA IdP key
		status int
		detail string
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	tests := []tc{
		{name: "valid RS256", status: 200},
		{name: "valid ES256", header: func(h map[string]any) { h["alg"], h["kid"] = "ES256", cloudECKid },
			claims: set("iss", cloudECIssuer), key: ks.ec, status: 200},
		{name: "typ absent", header: del("typ"), status: 200},
		{name: "aud as list", claims: set("aud", []any{"other", jwtAudience}), status: 200},
		{name: "numeric jti", claims: set("jti", uint64(12345678901234567890)), status: 200},
		{name: "groups absent", claims: del("groups"), status: 200},
		{name: "groups empty", claims: set("groups", []any{}), status: 200},
		{name: "window exactly 3600s", claims: func(m map[string]any) { m["nbf"], m["exp"] = now-60, now+3540 }, status: 200},
		{name: "expired within tolerance", claims: func(m map[string]any) { m["nbf"], m["exp"] = now-60, now-3 }, status: 200},
		{name: "nbf ahead within tolerance", claims: set("nbf", now+3), status: 200},

		// Types.
		{name: "iss not a string", claims: set("iss", 7), status: 400, detail: "Invalid claim type: iss"},
		{name: "email_verified as string", claims: set("email_verified", "true"), status: 400, detail: "email_verified must be a boolean"},
		{name: "exp as string", claims: set("exp", strconv.FormatInt(now+60, 10)), status: 400, detail: "exp must be a number"},
		{name: "aud as number", claims: set("aud", 1), status: 400, detail: "aud must be"},
		{name: "jti as bool", claims: set("jti", true), status: 400, detail: "jti must be"},
		{name: "groups as string", claims: set("groups", "Sales"), status: 400, detail: "groups must be a list of strings"},
		{name: "groups with a number", claims: set("groups", []any{"Sales", 3}), status: 400, detail: "groups must be a list of strings"},
		{name: "groups null", claims: set("groups", nil), status: 400, detail: "groups must be a list of strings"},
		{name: "empty sub", claims: set("sub", ""), status: 400, detail: "Missing required claim: sub"},

		// Values.
		{name: "wrong iss", claims: set("iss", "someone-else"), status: 401, detail: "iss"},
		{name: "wrong aud", claims: set("aud", "qlik.api"), status: 401, detail: "aud"},
		{name: "aud list without qlik", claims: set("aud", []any{"a", "b"}), status: 401, detail: "aud"},
		{name: "subType not user", claims: set("subType", "service"), status: 401, detail: "subType"},
		{name: "email not verified", claims: set("email_verified", false), status: 401, detail: "email_verified must be true"},
		{name: "window over an hour", claims: func(m map[string]any) { m["nbf"], m["exp"] = now-60, now+3541 }, status: 401, detail: "more than the 3600 s"},
		{name: "exp before nbf", claims: func(m map[string]any) { m["nbf"], m["exp"] = now, now-1 }, status: 401, detail: "exp must be after nbf"},
		{name: "expired", claims: func(m map[string]any) { m["nbf"], m["exp"] = now-300, now-6 }, status: 401, detail: "expired"},
		{name: "nbf in the future", claims: func(m map[string]any) { m["nbf"], m["exp"] = now+60, now+120 }, status: 401, detail: "not valid yet"},

		// Header and signature.
		{name: "unknown kid", header: set("kid", "nope"), status: 401, detail: "kid"},
		{name: "missing kid", header: del("kid"), status: 401, detail: "no kid"},
		{name: "EC kid with RS256", header: set("kid", cloudECKid), claims: set("iss", cloudECIssuer), status: 401, detail: "does not match"},
		{name: "ES256 header on the RSA kid", header: set("alg", "ES256"), key: ks.ec, status: 401, detail: "does not match"},
		{name: "signed by another key", key: ks.otherRSA, status: 401, detail: "invalid signature"},
		{name: "RS512", header: set("alg", "RS512"), status: 401, detail: `alg "RS512" is not accepted`},
		{name: "alg none", header: set("alg", "none"), status: 401, detail: `alg "none"`},
		{name: "alg NONE", header: set("alg", "NONE"), status: 401, detail: `alg "none"`},
		{name: "HS256 keyed with the public key", header: set("alg", "HS256"), key: cloudPublicPEM(t, &ks.rsa.PublicKey), status: 401, detail: "symmetric"},
	}
	for _, claim := range jwtRequiredClaims {
		tests = append(tests, tc{name: "missing " + claim, claims: del(claim), status: 400, detail: "Missing required claim: " + claim})
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, cl := cloudRSAHeader(), cloudClaims(clock.Now(), fmt.Sprintf("jti-%d", i))
			if tt.header != nil {
				tt.header(h)
			}
			if tt.claims != nil {
				tt.claims(cl)
			}
			key := tt.key
			if key == nil {
				key = ks.rsa
			}
			r := cloudPostJWT(t, cloudBrowser(t, c), c, cloudSignToken(t, h, cl, key), "")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if tt.status == http.StatusOK {
				if n := len(r.header.Values("Set-Cookie")); n != 4 {
					t.Errorf("%d cookies set, want 4", n)
				}
				return
			}
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Errorf("a refused login set cookies: %q", r.header.Values("Set-Cookie"))
			}
			detail, status := cloudErrorOf(t, r)
			if status != strconv.Itoa(tt.status) || !strings.Contains(detail, tt.detail) {
				t.Errorf("error detail %q status %q, want %q and %d", detail, status, tt.detail, tt.status)
			}
		})
	}
}

func TestCloudMalformedRequests(t *testing.T) {
	c, clock, _ := newCloudSim(t)
	ks := testCloudKeys(t)
	good := cloudSignToken(t, cloudRSAHeader(), cloudClaims(clock.Now(), "m-1"), ks.rsa)
	// The payload of another token (sub changed) under good's signature.
	other := cloudClaims(clock.Now(), "m-1")
	other["sub"] = "admin"
	parts, forged := strings.Split(good, "."), strings.Split(cloudSignToken(t, cloudRSAHeader(), other, ks.otherRSA), ".")
	tampered := parts[0] + "." + forged[1] + "." + parts[2]
	tests := []struct {
		name, auth, detail string
	}{
		{"no Authorization", "", "Bearer"},
		{"Basic scheme", "Basic " + good, "Bearer"},
		{"empty bearer", "Bearer ", "Bearer"},
		{"two parts", "Bearer a.b", "three"},
		{"header not base64", "Bearer !!.b.c", "header"},
		{"tampered payload", "Bearer " + tampered, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			r := do(t, cloudBrowser(t, c), http.MethodPost, c.URL()+"/login/jwt-session", "", h)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", r.status, r.body)
			}
			if detail, _ := cloudErrorOf(t, r); !strings.Contains(detail, tt.detail) {
				t.Errorf("detail %q, want it to mention %q", detail, tt.detail)
			}
		})
	}
	r := do(t, cloudBrowser(t, c), http.MethodGet, c.URL()+"/login/jwt-session", "", nil)
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET jwt-session: status %d, want 405", r.status)
	}
}

func TestCloudReplay(t *testing.T) {
	c, clock, _ := newCloudSim(t)
	ks := testCloudKeys(t)
	tok := cloudSignToken(t, cloudRSAHeader(), cloudClaims(clock.Now(), "once"), ks.rsa)
	if r := cloudPostJWT(t, cloudBrowser(t, c), c, tok, ""); r.status != http.StatusOK {
		t.Fatalf("first use: status %d, body %s", r.status, r.body)
	}
	r := cloudPostJWT(t, cloudBrowser(t, c), c, tok, "")
	if r.status != http.StatusUnauthorized {
		t.Fatalf("replay: status %d, want 401", r.status)
	}
	if detail, _ := cloudErrorOf(t, r); !strings.Contains(detail, "replay") {
		t.Errorf("replay detail %q", detail)
	}
	// The same jti from another IdP is another token.
	ec := cloudClaims(clock.Now(), "once")
	ec["iss"] = cloudECIssuer
	if r := cloudPostJWT(t, cloudBrowser(t, c), c, cloudSignToken(t, map[string]any{"alg": "ES256", "kid": cloudECKid}, ec, ks.ec), ""); r.status != http.StatusOK {
		t.Errorf("same jti, other issuer: status %d, body %s", r.status, r.body)
	}
	if s := c.Stats(); s.Logins != 2 || s.ReplaysRejected != 1 || s.LoginsRejected != 1 {
		t.Errorf("stats %+v", s)
	}
}
