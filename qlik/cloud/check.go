package cloud

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/qlikgate/qlikgate/check"
)

// probeTimeout bounds the tenant probe; the configuration has no timeout
// for it because qlikgate never calls the tenant during a login.
const probeTimeout = 10 * time.Second

// Diagnose checks the signing key (type, size, that it signs, and who can
// read it), prints what identifies it to the tenant (key id and public key
// fingerprint: there is nothing here to compare it with), checks ca_file,
// proves the tenant answers over TLS and, with oauth_client_id, that the
// tenant accepts the OAuth clients for access tokens.
func (t *JWTTarget) Diagnose(ctx context.Context) []check.Result {
	out := t.keyChecks()
	if t.cfg.CAFile != "" {
		out = append(out, check.CAFile("ca_file", t.cfg.CAFile, time.Now())...)
	}
	out = append(out, t.probeTenant(ctx))
	if t.tokens != nil {
		out = append(out, t.tokens.Diagnose(ctx)...)
	}
	return out
}

// keyChecks describes the loaded key and signs a throwaway token with it.
func (t *JWTTarget) keyChecks() []check.Result {
	name := "private_key_file " + t.cfg.PrivateKeyFile
	der, err := x509.MarshalPKIXPublicKey(t.key.key.Public())
	if err != nil {
		return []check.Result{check.Fail(name, err.Error(), "create a new key with `qlikgate keygen`")}
	}
	if _, err := t.sign(Claims{Issuer: t.cfg.Issuer, Audience: Audience, Subject: probeSubject, SubType: "user"}); err != nil {
		return []check.Result{check.Fail(name, "cannot sign: "+err.Error(), "create a new key with `qlikgate keygen`")}
	}
	desc := fmt.Sprintf("%s key (%s), key_id %q, issuer %q; public key SHA-256 %s: the tenant's JWT identity provider must hold this public key under this key id and issuer (compare: openssl pkey -pubin -in public.pem -outform DER | sha256sum)",
		keyType(t.key), t.key.alg, t.cfg.KeyID, t.cfg.Issuer, check.Fingerprint(der))
	out := []check.Result{check.Pass(name, desc)}
	if t.key.alg != jose.RS256 {
		out = append(out, check.Warning(name, "the key signs "+string(t.key.alg)+"; Qlik's JWT guide asks for RS256",
			"if the tenant refuses the tokens, create an RSA key with `qlikgate keygen` and register its public key"))
	}
	if fi, err := os.Stat(t.cfg.PrivateKeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		out = append(out, check.Warning(name, fmt.Sprintf("the file is readable by other users (mode %s): whoever reads it can sign in to the tenant as anyone", fi.Mode().Perm()),
			"restrict it to the account qlikgate runs as (chmod 600, or on Windows remove other users from the file's permissions)"))
	}
	return out
}

// probeSubject is the sub of the throwaway token; it is never sent.
const probeSubject = "qlikgate-check"

func keyType(k signingKey) string {
	switch pk := k.key.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA %d-bit", pk.N.BitLen())
	case *ecdsa.PrivateKey:
		return "EC " + pk.Curve.Params().Name
	}
	return fmt.Sprintf("%T", k.key)
}

// probeTenant asks the tenant for a CSRF token without a session. The
// answer (401, or 204 if a session existed) proves TLS works and that a
// Qlik Cloud tenant answers at tenant_url; nothing is created.
func (t *JWTTarget) probeTenant(ctx context.Context) check.Result {
	name := "tenant " + t.tenant
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.tenant+"/api/v1/csrf-token", nil)
	if err != nil {
		return check.Fail(name, err.Error(), "check tenant_url")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() // keeps HTTPS_PROXY: tenants are on the Internet
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: t.roots}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return check.Fail(name, err.Error(), t.tenantFix(err))
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusNoContent:
		return check.Pass(name, fmt.Sprintf("answers over TLS (GET /api/v1/csrf-token: HTTP %d, as a tenant does without a session)", resp.StatusCode))
	}
	return check.Fail(name, fmt.Sprintf("GET /api/v1/csrf-token answered HTTP %d, not what a Qlik Cloud tenant answers", resp.StatusCode),
		"check tenant_url: it must be the tenant's address, like https://acme.eu.qlikcloud.com, or its custom domain")
}

func (t *JWTTarget) tenantFix(err error) string {
	host := t.tenantBase.Hostname()
	port := t.tenantBase.Port()
	if port == "" {
		port = "443"
	}
	peer := check.Peer{What: "the tenant", Addr: net.JoinHostPort(host, port), CAKey: "ca_file"}
	cause, fix := peer.Explain(err)
	switch cause {
	case check.CauseTimeout:
		return fix + "; if this machine reaches the Internet through a proxy, set HTTPS_PROXY for qlikgate"
	case check.CauseOther:
		return "check tenant_url and this machine's access to the Internet"
	}
	return fix
}
