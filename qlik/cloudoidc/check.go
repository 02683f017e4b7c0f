package cloudoidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/check"
)

// probeTimeout bounds each call of the self-check.
const probeTimeout = 10 * time.Second

var _ check.Diagnoser = (*Target)(nil)

// Diagnose checks the key files, then fetches this provider's own
// discovery document and JWKS through public_url (what the tenant does
// from the Internet) and proves the tenant answers at tenant_url and
// accepts the qlik-embed OAuth clients when they are configured.
func (t *Target) Diagnose(ctx context.Context) []check.Result {
	out := t.keyChecks()
	if t.cfg.CAFile != "" {
		out = append(out, check.CAFile("ca_file", t.cfg.CAFile, time.Now())...)
	}
	out = append(out, t.probeSelf(ctx)...)
	out = append(out, t.probeTenant(ctx))
	if t.tokens != nil {
		out = append(out, t.tokens.Diagnose(ctx)...)
	}
	return out
}

func (t *Target) keyChecks() []check.Result {
	var out []check.Result
	for i, k := range t.keys {
		name := "signing_key_files " + k.file
		der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
		if err != nil {
			out = append(out, check.Fail(name, err.Error(), "create a new key with `qlikgate keygen`"))
			continue
		}
		role := "published for rotation"
		if i == 0 {
			role = "signs ID tokens"
		}
		out = append(out, check.Pass(name, fmt.Sprintf("RSA %d-bit, kid %s, %s (%s); public key SHA-256 %s",
			k.priv.N.BitLen(), k.id, role, k.alg, check.Fingerprint(der))))
		if fi, err := os.Stat(k.file); err == nil && fi.Mode().Perm()&0o077 != 0 {
			out = append(out, check.Warning(name, fmt.Sprintf("the file is readable by other users (mode %s): whoever reads it can sign in to the tenant as anyone", fi.Mode().Perm()),
				"restrict it to the account qlikgate runs as (chmod 600)"))
		}
	}
	return out
}

// probeSelf reads discovery and the JWKS through public_url, as the tenant
// will, and compares them with the configuration.
func (t *Target) probeSelf(ctx context.Context) []check.Result {
	disc := t.issuer + "/.well-known/openid-configuration"
	client := &http.Client{Timeout: probeTimeout}
	var doc struct {
		Issuer string `json:"issuer"`
		JWKS   string `json:"jwks_uri"`
		Token  string `json:"token_endpoint"`
	}
	if err := getJSON(ctx, client, disc, &doc); err != nil {
		return []check.Result{check.Fail("discovery "+disc, err.Error(),
			"qlikgate must be reachable at server.public_url from this machine and from the Internet (Qlik Cloud reads discovery, JWKS and token server to server)")}
	}
	if doc.Issuer != t.issuer {
		return []check.Result{check.Fail("discovery "+disc, fmt.Sprintf("issuer %q, want %q", doc.Issuer, t.issuer),
			"a reverse proxy in front of qlikgate rewrites the path or host: pass /t/ through unchanged")}
	}
	out := []check.Result{check.Pass("discovery "+disc, "issuer "+doc.Issuer+"; token endpoint "+doc.Token)}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := getJSON(ctx, client, doc.JWKS, &jwks); err != nil {
		return append(out, check.Fail("jwks "+doc.JWKS, err.Error(), "let the JWKS path through the reverse proxy"))
	}
	missing := []string{}
	for _, k := range t.keys {
		found := false
		for _, j := range jwks.Keys {
			found = found || j.Kid == k.id
		}
		if !found {
			missing = append(missing, k.id)
		}
	}
	if len(missing) > 0 {
		return append(out, check.Fail("jwks "+doc.JWKS, "the JWKS lacks kid "+strings.Join(missing, ", "),
			"another qlikgate answers at public_url with other keys: give every instance the same signing_key_files"))
	}
	return append(out, check.Pass("jwks "+doc.JWKS, fmt.Sprintf("%d key(s) published", len(jwks.Keys))))
}

func getJSON(ctx context.Context, c *http.Client, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(v)
}

// probeTenant asks the tenant for a CSRF token without a session: 401 (or
// 204) proves a Qlik Cloud tenant answers at tenant_url over TLS.
func (t *Target) probeTenant(ctx context.Context) check.Result {
	name := "tenant " + t.tenant
	var roots *x509.CertPool
	if t.cfg.CAFile != "" {
		pem, err := os.ReadFile(t.cfg.CAFile)
		if err != nil {
			return check.Fail(name, err.Error(), "check ca_file")
		}
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: probeTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.tenant+"/api/v1/csrf-token", nil)
	if err != nil {
		return check.Fail(name, err.Error(), "check tenant_url")
	}
	resp, err := client.Do(req)
	if err != nil {
		return check.Fail(name, err.Error(), "check tenant_url and this machine's access to the Internet (HTTPS_PROXY)")
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusNoContent:
		return check.Pass(name, fmt.Sprintf("answers over TLS (GET /api/v1/csrf-token: HTTP %d)", resp.StatusCode))
	}
	return check.Fail(name, fmt.Sprintf("GET /api/v1/csrf-token answered HTTP %d, not what a Qlik Cloud tenant answers", resp.StatusCode),
		"check tenant_url: the tenant's address, like https://acme.eu.qlikcloud.com")
}
