// Package cloud hands users to Qlik Cloud through a JWT identity provider
// (`kind: cloud`, contract §3).
//
// qlikgate signs a short-lived JWT for the user and renders a hand-off page
// whose script POSTs it to the tenant's /login/jwt-session with the web
// integration id and credentials included. The tenant answers with its
// session cookies, which the browser stores for the tenant's site; the
// script then proves the cookies were kept (GET /api/v1/csrf-token answers
// 204 only with a session) and navigates to the tenant. The exchange has
// to happen in the browser: the cookies must land there, and the endpoint
// takes the token in a header, which a redirect cannot carry.
//
// When qlikgate and the tenant are on different sites, the tenant's
// cookies are third-party cookies on that page, which browsers
// increasingly block; the page then explains the fix (a tenant custom
// domain on qlikgate's site, or allowing the cookies).
//
// Decisions where Qlik is silent:
//   - sub is the user id by default; subject_format can add the
//     directory ('{directory}\{user}' in YAML). Qlik Cloud matches users by
//     subject, so the format must not change once users exist.
//   - email_verified is always true. Qlik refuses false, and the address
//     comes from the organisation's own directory or IdP, which is what a
//     JWT identity provider vouches for. Only map email from sources whose
//     addresses users cannot choose themselves.
//   - A user without an email address cannot be handed over (Qlik requires
//     the claim); the login fails with an error naming the user.
//   - Access tokens for qlik-embed (oauth_client_id) come from the
//     tenant's impersonation grant for the same subject the JWT carries,
//     so a mashup acts as the user the hub knows (package cloudtoken).
//   - Logout sends the browser to the tenant's /logout: qlikgate holds no
//     credential that could end the tenant session server-side.
package cloud

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloudtoken"
)

// Kind registers the Qlik Cloud JWT flow under `kind: cloud`.
var Kind = qlik.NewKind("cloud", "cloud", DefaultConfig, Open)

// JWTTarget logs users in to a Qlik Cloud tenant with a signed JWT that
// the browser exchanges for the tenant's session cookies.
type JWTTarget struct {
	id          string
	cfg         Config
	tenant      string          // https://host[:port], no trailing slash
	tenantBase  *url.URL        // tenant + "/", to resolve relative returnto
	returnCheck qlik.ReturnRule // what a returnto may be
	key         signingKey
	roots       *x509.CertPool // from ca_file; nil: the system roots
	log         *slog.Logger
	now         func() time.Time
	tokens      *cloudtoken.Issuer // nil without oauth_client_id
}

// Open validates the configuration and loads the signing key (and ca_file)
// without calling the tenant.
func Open(_ context.Context, c qlik.Common, cfg *Config, env qlik.Env) (*JWTTarget, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key, err := loadKey(cfg.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	warnKeyFile(log, cfg.PrivateKeyFile)
	if key.alg != jose.RS256 {
		log.Warn("the signing key is not RSA: Qlik's JWT guide asks for RS256; if the tenant refuses the tokens, create an RSA key with `qlikgate keygen`",
			"alg", string(key.alg))
	}
	t := &JWTTarget{id: c.ID, cfg: *cfg, key: key, log: log, now: time.Now}
	t.tenant, _ = tenantOrigin(cfg.TenantURL) // checked by Validate
	t.tenantBase, _ = url.Parse(t.tenant + "/")
	if t.returnCheck, err = returnRule(t.tenantBase, cfg.AllowedReturnHosts); err != nil {
		return nil, err
	}
	warnCrossSite(log, env.PublicURL, t.tenantBase)
	if cfg.CAFile != "" {
		if t.roots, err = readCAFile(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	if cfg.Embed.Enabled() {
		t.tokens = cloudtoken.New(cfg.Embed, t.tenant, t.roots, log)
	}
	return t, nil
}

// warnKeyFile warns when the private key is readable by others: anyone who
// can read it can log in to the tenant as any user.
func warnKeyFile(log *slog.Logger, path string) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("private_key_file is readable by other users; restrict it (chmod 600)", "file", path, "mode", fi.Mode().Perm().String())
	}
}

func readCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca_file: %s: no PEM certificate found", path)
	}
	return pool, nil
}

// ID is the target's configured id.
func (t *JWTTarget) ID() string { return t.id }

// TenantURL is the tenant's origin, https://host[:port] without a trailing
// slash: the page's Content-Security-Policy must allow connect-src to it.
func (t *JWTTarget) TenantURL() string { return t.tenant }

// Algorithm is the JWT signing algorithm, RS256 or ES256, derived from the
// key.
func (t *JWTTarget) Algorithm() string { return string(t.key.alg) }

// RootCAs is the pool from ca_file, or nil to use the system roots, for
// clients (like `qlikgate check`) that call the tenant.
func (t *JWTTarget) RootCAs() *x509.CertPool { return t.roots }
