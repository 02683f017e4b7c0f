package qliksim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"
)

// Test tenant settings.
const (
	cloudRSAIssuer = "qlikgate.test"
	cloudRSAKid    = "rsa-1"
	cloudECIssuer  = "qlikgate-ec.test"
	cloudECKid     = "ec-1"
	cloudWIID      = "wi-7Hq2"
	cloudOrigin    = "https://auth.example.com"
	cloudPortal    = "https://portal.example.com:8443"
	cloudLoginURL  = "https://auth.example.com/t/cloud/"
)

// cloudKeys are generated once: RSA key generation is slow under -race.
type cloudKeySet struct {
	rsa, otherRSA *rsa.PrivateKey
	ec            *ecdsa.PrivateKey
}

var cloudKeys = sync.OnceValues(func() (cloudKeySet, error) {
	var ks cloudKeySet
	var err error
	if ks.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return ks, err
	}
	if ks.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return ks, err
	}
	ks.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return ks, err
})

func testCloudKeys(t *testing.T) cloudKeySet {
	t.Helper()
	ks, err := cloudKeys()
	if err != nil {
		t.Fatalf("generate keys: %v", err)
	}
	return ks
}

func cloudPublicPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// newCloudSim starts a tenant on a fake clock with an RSA IdP (given as
// PEM through the options) and an EC IdP (added with AddIdP).
func newCloudSim(t *testing.T) (*Cloud, *fakeClock, *logRecorder) {
	t.Helper()
	ks := testCloudKeys(t)
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	logs := &logRecorder{t: t}
	c, err := NewCloud(CloudOptions{
		IdPs:             []CloudIdP{{Issuer: cloudRSAIssuer, KeyID: cloudRSAKid, PEM: cloudPublicPEM(t, &ks.rsa.PublicKey)}},
		WebIntegrationID: cloudWIID,
		ValidOrigins:     []string{cloudOrigin, cloudPortal},
		LoginURL:         cloudLoginURL,
		Now:              clock.Now,
		Logf:             logs.Logf,
	})
	if err != nil {
		t.Fatalf("NewCloud: %v", err)
	}
	t.Cleanup(c.Close)
	if err := c.AddIdP(cloudECIssuer, cloudECKid, &ks.ec.PublicKey); err != nil {
		t.Fatalf("AddIdP: %v", err)
	}
	return c, clock, logs
}

// cloudBrowser is a client with a cookie jar that trusts the tenant and
// does not follow redirects.
func cloudBrowser(t *testing.T, c *Cloud) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := clientWith(t, &tls.Config{RootCAs: c.PKI().CertPool(), MinVersion: tls.VersionTLS12})
	cl.Jar = jar
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return cl
}

// cloudClaims are claims the tenant accepts at now for the RSA IdP.
func cloudClaims(now time.Time, jti string) map[string]any {
	return map[string]any{
		"iss":            cloudRSAIssuer,
		"aud":            jwtAudience,
		"sub":            "jdoe",
		"subType":        "user",
		"name":           "Jane Doe",
		"email":          "jane@example.com",
		"email_verified": true,
		"jti":            jti,
		"iat":            now.Unix(),
		"nbf":            now.Unix() - 30,
		"exp":            now.Unix() + 270,
		"groups":         []any{"Sales", "EU"},
	}
}

// cloudSignToken builds a compact JWS by hand, so tests control every header
// and claim, including algorithms a JOSE library refuses to produce.
func cloudSignToken(t *testing.T, header, claims map[string]any, key any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch header["alg"] {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	case "ES256":
		r, s, e := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), digest[:])
		err = e
		if e == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	default:
		// Any other alg: sign like RS256 so only the header differs.
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	}
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func cloudRSAHeader() map[string]any {
	return map[string]any{"alg": "RS256", "kid": cloudRSAKid, "typ": "JWT"}
}

// cloudPostJWT posts token to /login/jwt-session like a browser script on
// origin ("" for a server-side caller) with the web integration header.
func cloudPostJWT(t *testing.T, cl *http.Client, c *Cloud, token, origin string) response {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	if origin != "" {
		h.Set("Origin", origin)
		h.Set("Qlik-Web-Integration-ID", cloudWIID)
	}
	return do(t, cl, http.MethodPost, c.URL()+"/login/jwt-session", "", h)
}

// cloudErrorOf decodes the tenant's error document.
func cloudErrorOf(t *testing.T, r response) (detail, status string) {
	t.Helper()
	var doc struct {
		Errors []struct {
			Title, Detail, Code, Status string
		}
		TraceID string `json:"traceId"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || len(doc.Errors) != 1 || doc.TraceID == "" {
		t.Fatalf("error body %q is not {errors:[one], traceId}: %v", r.body, err)
	}
	e := doc.Errors[0]
	if e.Title == "" || e.Code == "" {
		t.Errorf("error item %+v lacks title or code", e)
	}
	return e.Detail, e.Status
}
