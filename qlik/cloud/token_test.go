package cloud

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/qlikgate/qlikgate/qlik"
)

// verifyToken checks the signature with the public key and returns the
// header and the claims as generic JSON.
func verifyToken(t *testing.T, token string, publicPEM []byte) (jose.Header, map[string]any) {
	t.Helper()
	pub, err := parsePublicPEMForTest(publicPEM)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("verify token: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header, claims
}

func loginToken(t *testing.T, tg *JWTTarget, u qlik.User) string {
	t.Helper()
	h, err := tg.Login(context.Background(), u, qlik.Entry{})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return str(t, pageData(t, h), DataJWT)
}

func TestTokenExact(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 500e6, time.UTC)
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg, func(t *testing.T) {
			tg := openTarget(t, testConfig(t, "https://acme.eu.qlikcloud.com", alg), now)
			header, claims := verifyToken(t, loginToken(t, tg, testUser), keyPair(t, alg).public)
			if header.Algorithm != alg || header.KeyID != "qlikgate-1" || header.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Errorf("header alg %q kid %q typ %v", header.Algorithm, header.KeyID, header.ExtraHeaders[jose.HeaderType])
			}
			jti, _ := claims["jti"].(string)
			if len(jti) < 26 {
				t.Errorf("jti %q is too short to be unique", jti)
			}
			want := map[string]any{
				"iss":            "qlikgate.test",
				"aud":            "qlik.api/login/jwt-session",
				"sub":            "jdoe",
				"subType":        "user",
				"name":           "Jane Doe",
				"email":          "jane@example.com",
				"email_verified": true,
				"groups":         []any{"Sales", "EU"},
				"jti":            jti,
				"iat":            float64(now.Unix()),
				"nbf":            float64(now.Unix() - 30),
				"exp":            float64(now.Unix() - 30 + 300),
			}
			if !reflect.DeepEqual(claims, want) {
				t.Errorf("claims\n got %v\nwant %v", claims, want)
			}
		})
	}
}

func TestTokenUserMapping(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		user    func(u *qlik.User)
		want    map[string]any // claims to compare
		wantErr string
	}{
		{name: "directory in subject", format: `{directory}\{user}`, want: map[string]any{"sub": `CORP\jdoe`}},
		{name: "email-style subject", format: "{user}@{directory}", want: map[string]any{"sub": "jdoe@CORP"}},
		{name: "no name: the id", user: func(u *qlik.User) { u.Name = " " }, want: map[string]any{"name": "jdoe"}},
		{name: "no groups: empty list", user: func(u *qlik.User) { u.Groups = nil }, want: map[string]any{"groups": []any{}}},
		{name: "attributes are not sent", user: func(u *qlik.User) { u.Attributes = map[string][]string{"dept": {"x"}} }, want: map[string]any{"sub": "jdoe"}},
		{name: "no email", user: func(u *qlik.User) { u.Email = "" }, wantErr: `user "jdoe" has no email address`},
		{name: "no user id", user: func(u *qlik.User) { u.UserID = "" }, wantErr: "no user id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, "https://acme.eu.qlikcloud.com", ES256)
			if tt.format != "" {
				cfg.SubjectFormat = tt.format
			}
			tg := openTarget(t, cfg, time.Now())
			u := testUser
			u.Groups = slices.Clone(u.Groups)
			if tt.user != nil {
				tt.user(&u)
			}
			h, err := tg.Login(context.Background(), u, qlik.Entry{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "cloud cloud:") {
					t.Fatalf("Login error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, claims := verifyToken(t, str(t, pageData(t, h), DataJWT), keyPair(t, ES256).public)
			for k, v := range tt.want {
				if !reflect.DeepEqual(claims[k], v) {
					t.Errorf("claim %s = %#v, want %#v", k, claims[k], v)
				}
			}
			if _, ok := claims["dept"]; ok {
				t.Error("an attribute became a claim")
			}
		})
	}
}

func TestTokenJTIUnique(t *testing.T) {
	tg := openTarget(t, testConfig(t, "https://acme.eu.qlikcloud.com", ES256), time.Now())
	seen := map[string]bool{}
	for range 200 {
		_, claims := verifyToken(t, loginToken(t, tg, testUser), keyPair(t, ES256).public)
		jti := claims["jti"].(string)
		if seen[jti] {
			t.Fatalf("jti %q repeated", jti)
		}
		seen[jti] = true
	}
}

func TestTokenLifetimeBounds(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 999e6, time.UTC)
	tests := []struct {
		lifetime     time.Duration
		wantBackdate int64
	}{
		{10 * time.Second, 2},
		{90 * time.Second, 22},
		{5 * time.Minute, 30},
		{time.Hour, 30},
		{time.Hour - 500*time.Millisecond, 30}, // fractions are dropped, never rounded up
	}
	for _, tt := range tests {
		t.Run(tt.lifetime.String(), func(t *testing.T) {
			cfg := testConfig(t, "https://acme.eu.qlikcloud.com", ES256)
			cfg.TokenLifetime = tt.lifetime
			tg := openTarget(t, cfg, now)
			_, claims := verifyToken(t, loginToken(t, tg, testUser), keyPair(t, ES256).public)
			iat, nbf, exp := int64(claims["iat"].(float64)), int64(claims["nbf"].(float64)), int64(claims["exp"].(float64))
			window := exp - nbf
			if window > 3600 || window != int64(tt.lifetime/time.Second) {
				t.Errorf("exp - nbf = %d, want %d (and at most 3600)", window, int64(tt.lifetime/time.Second))
			}
			if iat != now.Unix() || iat-nbf != tt.wantBackdate || exp <= iat {
				t.Errorf("iat %d nbf %d exp %d: want iat = now, nbf = iat - %d, exp after iat", iat, nbf, exp, tt.wantBackdate)
			}
		})
	}
}

func TestHandoffPageData(t *testing.T) {
	cfg := testConfig(t, "https://acme.eu.qlikcloud.com/", RS256)
	cfg.WebIntegrationID = "wi+/="
	tg := openTarget(t, cfg, time.Now())
	h, err := tg.Login(context.Background(), testUser, qlik.Entry{ReturnTo: "https://acme.eu.qlikcloud.com/hub/home"})
	if err != nil {
		t.Fatal(err)
	}
	data := pageData(t, h)
	if !slices.Equal(h.Page.ConnectOrigins, []string{"https://acme.eu.qlikcloud.com"}) {
		t.Errorf("ConnectOrigins %q, want only the tenant", h.Page.ConnectOrigins)
	}
	want := map[string]string{
		DataTenantURL:        "https://acme.eu.qlikcloud.com",
		DataTenantHost:       "acme.eu.qlikcloud.com",
		DataWebIntegrationID: "wi+/=",
		DataSessionURL:       "https://acme.eu.qlikcloud.com/login/jwt-session?qlik-web-integration-id=wi%2B%2F%3D",
		DataCheckURL:         "https://acme.eu.qlikcloud.com/api/v1/csrf-token?qlik-web-integration-id=wi%2B%2F%3D",
		DataReturnTo:         "https://acme.eu.qlikcloud.com/hub/home",
	}
	for k, v := range want {
		if got := str(t, data, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if help := str(t, data, DataCookieHelp); !strings.Contains(help, "acme.eu.qlikcloud.com") || !strings.Contains(help, "custom domain") {
		t.Errorf("cookie help %q", help)
	}
	keys := slices.Sorted(maps.Keys(data))
	if len(keys) != 8 {
		t.Errorf("page data keys %v, want the 8 documented ones", keys)
	}
	if tg.TenantURL() != "https://acme.eu.qlikcloud.com" || tg.Algorithm() != RS256 || tg.ID() != "cloud" {
		t.Errorf("TenantURL %q Algorithm %q ID %q", tg.TenantURL(), tg.Algorithm(), tg.ID())
	}
}

func TestLogoutRedirectsToTenant(t *testing.T) {
	tg := openTarget(t, testConfig(t, "https://acme.eu.qlikcloud.com", ES256), time.Now())
	h, err := tg.Logout(context.Background(), testUser)
	if err != nil || h.Redirect != "https://acme.eu.qlikcloud.com/logout" || h.Page != nil || len(h.Cookies) != 0 {
		t.Errorf("Logout = %+v, %v", h, err)
	}
}
