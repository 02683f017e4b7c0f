// Package cloudoidc is the target kind cloud-oidc: qlikgate is the OpenID
// provider of a Qlik Cloud tenant's interactive identity provider, so the
// tenant sends its users to qlikgate with a top-level redirect and takes
// them back with a code it redeems server to server. No cookie crosses
// sites, which is why it works in browsers that block third-party cookies,
// unlike the JWT kind (qlik/cloud).
//
// The protocol is zitadel's certified op package: discovery, token,
// JWKS, userinfo and end-session. The authorization endpoint is the
// target's entry, /t/{id}/, which the web layer serves like every entry
// (single sign-on, the login page, access rules, second factors);
// ParseEntry validates the request with the library's checks and Login
// answers it with a code.
package cloudoidc

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloud"
	"github.com/qlikgate/qlikgate/qlik/cloudtoken"
)

// Kind registers cloud-oidc.
var Kind = qlik.NewKind("cloud-oidc", "cloud_oidc", NewConfig, Open)

// Target is an opened cloud-oidc target.
type Target struct {
	id        string
	cfg       Config
	tenant    string // https://host[:port]
	issuer    string // {public_url}t/{id}
	logoutURL string // qlikgate's sign-out page for this target
	keys      []*signingKey
	client    *client
	store     grantStore
	provider  *op.Provider
	handler   http.Handler
	log       *slog.Logger
	now       func() time.Time
	tokens    *cloudtoken.Issuer // qlik-embed access tokens; nil without oauth_client_id
}

var (
	_ qlik.Target         = (*Target)(nil)
	_ qlik.EndpointServer = (*Target)(nil)
)

// Open loads the keys and builds the provider; it calls nobody.
func Open(_ context.Context, c qlik.Common, cfg *Config, env qlik.Env) (*Target, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tenant, _ := cloud.TenantOrigin(cfg.TenantURL)
	alg := jose.SignatureAlgorithm(cfg.SigningAlgorithm)
	keys, err := loadKeys(cfg.SigningKeyFiles, alg)
	if err != nil {
		return nil, err
	}
	pub := strings.TrimSuffix(env.PublicURL, "/") + "/"
	pu, err := url.Parse(pub)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return nil, fmt.Errorf("server.public_url %q: the issuer is built from it and must be an absolute URL", env.PublicURL)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Target{
		id:        c.ID,
		cfg:       *cfg,
		tenant:    tenant,
		issuer:    pub + "t/" + c.ID,
		logoutURL: pub + "t/" + url.PathEscape(c.ID) + "/logout",
		keys:      keys,
		log:       log,
		now:       time.Now,
	}
	t.client = &client{id: cfg.ClientID, redirects: cfg.redirectURIs(tenant), postLogout: cfg.PostLogoutRedirectURIs,
		entry: t.issuer + "/", tokenLife: cfg.TokenLifetime}
	// The key encrypts opaque access tokens (token id and subject). With
	// a shared store every instance must hold it, so it is derived from
	// session.secret; otherwise it is per process, like the store.
	var opCfg op.Config
	if env.Shared.Redis != nil {
		if env.Shared.Secret == "" {
			return nil, fmt.Errorf("cloud-oidc %s: a shared store needs session.secret", c.ID)
		}
		k, err := hkdf.Key(sha256.New, []byte(env.Shared.Secret), nil, "qlikgate cloud-oidc access tokens "+c.ID, len(opCfg.CryptoKey))
		if err != nil {
			return nil, fmt.Errorf("cloud-oidc %s: token key: %w", c.ID, err)
		}
		copy(opCfg.CryptoKey[:], k)
		t.store = newRedisStore(env.Shared.Redis, env.Shared.KeyPrefix, c.ID)
	} else {
		if _, err := rand.Read(opCfg.CryptoKey[:]); err != nil {
			return nil, fmt.Errorf("cloud-oidc %s: token key: %w", c.ID, err)
		}
		t.store = newMemoryStore()
	}
	opCfg.DefaultLogoutRedirectURI = pub + "logout"
	opCfg.CodeMethodS256 = true
	opCfg.AuthMethodPost = true // client_secret_post beside _basic: Qlik's choice is undocumented
	opCfg.SupportedScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, "groups", oidc.ScopeOfflineAccess}
	opCfg.SupportedClaims = []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "at_hash", "c_hash", "azp",
		"name", "email", "email_verified", "groups"}
	opts := []op.Option{
		// The authorization endpoint is the entry: the web layer owns it.
		op.WithCustomAuthEndpoint(op.NewEndpointWithURL(pathAuthorizeUnused, t.issuer+"/")),
		op.WithLogger(log),
		// end-session's id_token_hint is one of ours, signed as ours are.
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(cfg.SigningAlgorithm)),
	}
	if pu.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure()) // the demo and tests on loopback; check warns
	}
	t.provider, err = op.NewProvider(&opCfg, storage{t}, op.StaticIssuer(t.issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("cloud-oidc %s: %w", c.ID, err)
	}
	t.handler = t.endpoints(t.provider)
	if cfg.Embed.Enabled() {
		var roots *x509.CertPool // nil: the system roots
		if cfg.CAFile != "" {
			if roots, err = cloud.ReadCAFile(cfg.CAFile); err != nil {
				return nil, err
			}
		}
		t.tokens = cloudtoken.New(cfg.Embed, tenant, roots, log)
	}
	return t, nil
}

// pathAuthorizeUnused is where the library's own authorize handler sits;
// endpoints never routes to it.
const pathAuthorizeUnused = "/authorize"

// Close releases the shared store's connections.
func (t *Target) Close() error {
	if c, ok := t.store.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// ID is the target's id.
func (t *Target) ID() string { return t.id }

// Issuer is {public_url}t/{id}, the discovery document's issuer.
func (t *Target) Issuer() string { return t.issuer }

// TenantURL is the tenant's origin.
func (t *Target) TenantURL() string { return t.tenant }

// Endpoints serves discovery, token, JWKS, userinfo, revocation and
// end-session, relative to the issuer.
func (t *Target) Endpoints() http.Handler { return t.handler }

// served are the library's routes qlikgate exposes; the rest (its own
// authorize and login callback, device flow) answer 404.
var served = map[string]bool{
	oidc.DiscoveryEndpoint: true,
	"/oauth/token":         true,
	"/keys":                true,
	"/userinfo":            true,
	"/revoke":              true,
	"/oauth/introspect":    true,
	"/end_session":         true,
}

func (t *Target) endpoints(p *op.Provider) http.Handler {
	var h http.Handler = p
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !served[r.URL.Path] {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(&refusalLog{ResponseWriter: w, t: t, path: r.URL.Path, ctx: r.Context()}, r)
	})
}

// refusalLog logs every 4xx answer of the library with the endpoint; the
// body (an OAuth error) is not read, so nothing secret reaches the log.
type refusalLog struct {
	http.ResponseWriter
	t    *Target
	path string
	ctx  context.Context
	done bool
}

func (l *refusalLog) WriteHeader(code int) {
	if !l.done && code >= 400 && code < 500 {
		l.t.log.WarnContext(l.ctx, "refused an OpenID request", audit.Key, audit.OIDCRefused, "endpoint", strings.TrimPrefix(l.path, "/"), "status", code)
	}
	l.done = true
	l.ResponseWriter.WriteHeader(code)
}

func (l *refusalLog) Write(b []byte) (int, error) {
	l.done = true
	return l.ResponseWriter.Write(b)
}

// refused logs why the storage refused a request (wrong secret, used code).
func (t *Target) refused(endpoint, reason string) {
	t.log.Warn("refused an OpenID request", audit.Key, audit.OIDCRefused, "endpoint", endpoint, "reason", reason)
}

// subject applies subject_format.
func (t *Target) subject(u qlik.User) string { return cloud.Subject(t.cfg.SubjectFormat, u) }

func qlikSignedIn(ctx context.Context) (qlik.User, bool) { return qlik.SignedIn(ctx) }

// Logout sends the browser to the tenant's logout, which ends the tenant's
// session (and, in Qlik, may come back through end-session).
func (t *Target) Logout(context.Context, qlik.User) (qlik.Handoff, error) {
	return qlik.Handoff{Redirect: t.tenant + "/logout"}, nil
}

var errNoEmail = errors.New("has no email address, which Qlik Cloud requires (claim email): map an email attribute or claim in the provider")
