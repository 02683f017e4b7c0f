package qliksim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
)

const cloudCORSRequestHeaders = "authorization,content-type,qlik-web-integration-id"

func TestCloudPreflight(t *testing.T) {
	c, _, _ := newCloudSim(t)
	withID := "?qlik-web-integration-id=" + cloudWIID
	tests := []struct {
		name, origin, query, reqHeaders string
		header                          http.Header // extra request headers
		allowed                         bool
	}{
		{name: "allowed origin", origin: cloudOrigin, query: withID, allowed: true},
		{name: "allowed origin with port", origin: cloudPortal, query: withID, allowed: true},
		{name: "explicit default port", origin: cloudOrigin + ":443", query: withID, allowed: true},
		{name: "upper-case host", origin: "https://AUTH.example.com", query: withID, allowed: true},
		{name: "port mismatch", origin: cloudOrigin + ":8443", query: withID},
		{name: "allowed host without its port", origin: "https://portal.example.com", query: withID},
		{name: "http instead of https", origin: "http://auth.example.com", query: withID},
		{name: "suffix look-alike", origin: "https://auth.example.com.evil.example", query: withID},
		{name: "sub-domain", origin: "https://x.auth.example.com", query: withID},
		{name: "null origin", origin: "null", query: withID},
		{name: "no id", origin: cloudOrigin},
		{name: "wrong id", origin: cloudOrigin, query: "?qlik-web-integration-id=other"},
		{name: "id only as header", origin: cloudOrigin, header: http.Header{"Qlik-Web-Integration-Id": {cloudWIID}}},
		{name: "header not allowed", origin: cloudOrigin, query: withID, reqHeaders: cloudCORSRequestHeaders + ",x-evil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Origin": {tt.origin}, "Access-Control-Request-Method": {"POST"}}
			h.Set("Access-Control-Request-Headers", cloudCORSRequestHeaders)
			if tt.reqHeaders != "" {
				h.Set("Access-Control-Request-Headers", tt.reqHeaders)
			}
			for k, v := range tt.header {
				h[k] = v
			}
			r := do(t, cloudBrowser(t, c), http.MethodOptions, c.URL()+"/login/jwt-session"+tt.query, "", h)
			acao := r.header.Get("Access-Control-Allow-Origin")
			if !tt.allowed {
				if acao != "" || r.header.Get("Access-Control-Allow-Credentials") != "" || r.status < 400 {
					t.Errorf("denied preflight answered %d with CORS headers %v", r.status, r.header)
				}
				return
			}
			if r.status != http.StatusNoContent || acao != tt.origin || r.header.Get("Access-Control-Allow-Credentials") != "true" {
				t.Fatalf("status %d, Allow-Origin %q, Allow-Credentials %q", r.status, acao, r.header.Get("Access-Control-Allow-Credentials"))
			}
			allowHeaders := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
			for _, want := range strings.Split(cloudCORSRequestHeaders, ",") {
				if !strings.Contains(allowHeaders, want) {
					t.Errorf("Allow-Headers %q lacks %s", allowHeaders, want)
				}
			}
			if !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("Allow-Methods %q lacks POST", r.header.Get("Access-Control-Allow-Methods"))
			}
		})
	}
}

func TestCloudCORSRequests(t *testing.T) {
	c, clock, _ := newCloudSim(t)
	ks := testCloudKeys(t)
	post := func(t *testing.T, jti, origin string, h http.Header, query string) response {
		t.Helper()
		tok := cloudSignToken(t, cloudRSAHeader(), cloudClaims(clock.Now(), jti), ks.rsa)
		hh := http.Header{"Authorization": {"Bearer " + tok}, "Origin": {origin}}
		for k, v := range h {
			hh[k] = v
		}
		return do(t, cloudBrowser(t, c), http.MethodPost, c.URL()+"/login/jwt-session"+query, "", hh)
	}
	idHeader := http.Header{"Qlik-Web-Integration-Id": {cloudWIID}}

	t.Run("allowed origin with header", func(t *testing.T) {
		r := post(t, "c-1", cloudOrigin, idHeader, "")
		if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != cloudOrigin || r.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("status %d, CORS %q/%q", r.status, r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials"))
		}
		if !strings.Contains(r.header.Get("Vary"), "Origin") {
			t.Errorf("Vary %q lacks Origin", r.header.Get("Vary"))
		}
	})
	t.Run("allowed origin with query id", func(t *testing.T) {
		if r := post(t, "c-2", cloudPortal, nil, "?qlik-web-integration-id="+cloudWIID); r.status != http.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
	})
	for _, tt := range []struct{ name, origin string }{
		{"foreign origin", "https://evil.example"},
		{"port mismatch", cloudOrigin + ":444"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, "c-"+tt.name, tt.origin, idHeader, "")
			if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" || len(r.header.Values("Set-Cookie")) != 0 {
				t.Errorf("status %d, CORS %q, cookies %q; want 403 without CORS headers or cookies",
					r.status, r.header.Get("Access-Control-Allow-Origin"), r.header.Values("Set-Cookie"))
			}
		})
	}
	t.Run("allowed origin without id", func(t *testing.T) {
		if r := post(t, "c-3", cloudOrigin, nil, ""); r.status != http.StatusForbidden {
			t.Errorf("status %d, want 403", r.status)
		}
	})
	t.Run("server-side caller without Origin", func(t *testing.T) {
		r := cloudPostJWT(t, cloudBrowser(t, c), c, cloudSignToken(t, cloudRSAHeader(), cloudClaims(clock.Now(), "c-4"), ks.rsa), "")
		if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("status %d, CORS %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("csrf-token from a foreign origin has no CORS headers", func(t *testing.T) {
		cl := cloudBrowser(t, c)
		cloudLogin(t, c, cl, clock, "c-5", nil)
		r := do(t, cl, http.MethodGet, c.URL()+"/api/v1/csrf-token?qlik-web-integration-id="+cloudWIID, "", http.Header{"Origin": {"https://evil.example"}})
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("foreign origin got Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
		}
		r = do(t, cl, http.MethodGet, c.URL()+"/api/v1/csrf-token?qlik-web-integration-id="+cloudWIID, "", http.Header{"Origin": {cloudOrigin}})
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != cloudOrigin ||
			!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "qlik-csrf-token") {
			t.Errorf("allowed origin: status %d, headers %v", r.status, r.header)
		}
	})
	if s := c.Stats(); s.CORSDenied < 4 {
		t.Errorf("CORSDenied %d, want at least 4", s.CORSDenied)
	}
}

func TestNewCloudRejectsBadOptions(t *testing.T) {
	ks := testCloudKeys(t)
	tests := []struct {
		name string
		opts CloudOptions
		want string
	}{
		{"wildcard origin", CloudOptions{ValidOrigins: []string{"https://*.example.com"}}, "wildcard"},
		{"origin with path", CloudOptions{ValidOrigins: []string{"https://auth.example.com/login"}}, "without path"},
		{"origin without scheme", CloudOptions{ValidOrigins: []string{"auth.example.com"}}, "scheme"},
		{"IdP without key", CloudOptions{IdPs: []CloudIdP{{Issuer: "i", KeyID: "k", PEM: []byte("nothing")}}}, "no PUBLIC KEY"},
		{"duplicate kid", CloudOptions{IdPs: []CloudIdP{
			{Issuer: "a", KeyID: "k", PEM: cloudPublicPEM(t, &ks.rsa.PublicKey)},
			{Issuer: "b", KeyID: "k", PEM: cloudPublicPEM(t, &ks.ec.PublicKey)},
		}}, "already used"},
		{"empty issuer", CloudOptions{IdPs: []CloudIdP{{KeyID: "k", PEM: cloudPublicPEM(t, &ks.rsa.PublicKey)}}}, "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCloud(tt.opts)
			if err == nil {
				c.Close()
				t.Fatal("NewCloud accepted the options")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestCloudIdPKeyForms(t *testing.T) {
	ks := testCloudKeys(t)
	pki, err := rsaPKI()
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&ks.rsa.PublicKey)})
	for name, data := range map[string][]byte{
		"PUBLIC KEY":     cloudPublicPEM(t, &ks.rsa.PublicKey),
		"RSA PUBLIC KEY": pkcs1,
		"CERTIFICATE":    append([]byte("comment before the block\n"), pki.ClientCertPEM()...),
	} {
		pub, err := parseIdPKeyPEM(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, ok := pub.(*rsa.PublicKey); !ok {
			t.Errorf("%s: parsed %T", name, pub)
		}
	}
	c, _, _ := newCloudSim(t)
	if err := c.AddIdP("x", "small", &cloudSmallRSA(t).PublicKey); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Errorf("AddIdP with a 1024-bit key: %v", err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddIdP("x", "p384", &p384.PublicKey); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Errorf("AddIdP with a P-384 key: %v", err)
	}
}

func cloudSmallRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // deliberately too small
	if err != nil {
		t.Fatal(err)
	}
	return k
}
