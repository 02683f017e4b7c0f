// Package oidc is the `oidc` provider kind: sign-in with an OpenID Connect
// identity provider (Microsoft Entra ID, Okta, Keycloak, Google, Auth0…)
// through the authorization-code flow with PKCE.
//
// The web layer drives a flow in two steps and keeps its secrets:
//
//  1. GET /login/{id}: generate state, nonce and a PKCE verifier with
//     crypto/rand, store the three per flow in the qlikgate session, and
//     redirect the browser to AuthURL (or AuthURLWithHints).
//  2. GET /callback/{id}: find the flow by `state` (the web layer checks it),
//     remove it from the session so it is used once, and call Callback with
//     the query and the stored nonce and verifier.
//
// The provider never stores per-flow data, so any number of flows (tabs)
// may be in progress at once, and it is safe for concurrent use.
//
// Discovery does not block start-up: Open returns at once and a goroutine
// fetches the discovery document, retrying with back-off while the issuer is
// down. Call Close to stop it.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/qlikgate/qlikgate/providers"
)

// Kind registers the provider under `kind: oidc`.
var Kind = providers.NewKind("oidc", "oidc", NewConfig, Open)

// Provider signs users in with one OpenID Connect issuer. It implements
// providers.RedirectProvider and io.Closer.
type Provider struct {
	cfg      Config // normalised: scopes include openid, domains lower-case
	redirect string
	client   *http.Client
	log      *slog.Logger

	disc      atomic.Pointer[discovered] // nil until discovery succeeds
	lastErr   atomic.Pointer[error]      // why discovery last failed, for ErrUnavailable
	firstDone chan struct{}              // closed when the first discovery attempt ends
	kick      chan struct{}              // a login asked for the provider while unavailable
	retry     backoff
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// backoff bounds the wait between discovery attempts.
type backoff struct{ min, max time.Duration }

// Discovery retries start 2 s apart and back off to once a minute: quick to
// notice an issuer that restarts, gentle with one that is down for long.
const retryMin, retryMax = 2 * time.Second, time.Minute

// Open checks the configuration, reads ca_file and starts discovery in the
// background. It does not need the issuer to be up: until discovery
// succeeds, Available is false and AuthURL returns an error matching
// providers.ErrUnavailable.
func Open(ctx context.Context, c providers.Common, cfg *Config, env providers.Env) (*Provider, error) {
	return open(ctx, c, *cfg, env, backoff{min: retryMin, max: retryMax})
}

func open(ctx context.Context, _ providers.Common, cfg Config, env providers.Env, retry backoff) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.CallbackURL == "" {
		return nil, errors.New("oidc: no callback URL (server.public_url must be set)")
	}
	client, err := newHTTPClient(cfg.CAFile, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	log := env.Log // already carries the provider id
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Provider{
		cfg:       normalise(cfg),
		redirect:  env.CallbackURL,
		client:    client,
		log:       log.With("issuer", cfg.Issuer),
		firstDone: make(chan struct{}),
		kick:      make(chan struct{}, 1),
		retry:     retry,
		done:      make(chan struct{}),
	}
	// The loop outlives Open's context (which may be a start-up deadline)
	// but keeps its values; Close ends it.
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stop = stop
	go p.discoverLoop(loopCtx)
	return p, nil
}

func normalise(cfg Config) Config {
	if !slices.Contains(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	scopes := []string{}
	for _, sc := range cfg.Scopes {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	cfg.Scopes = scopes
	cfg.AllowedDomains = slices.Clone(cfg.AllowedDomains)
	for i, d := range cfg.AllowedDomains {
		cfg.AllowedDomains[i] = strings.ToLower(d)
	}
	return cfg
}

// Close stops background discovery and waits for it to end. It is safe to
// call more than once.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		p.stop()
		<-p.done
	})
	return nil
}

// Available reports whether discovery has succeeded, so the login page can
// show the button as usable. It never blocks; when the answer is no, it asks
// the background loop to retry soon, so reloading the login page is enough
// to notice that the issuer is back.
func (p *Provider) Available() bool {
	if p.disc.Load() != nil {
		return true
	}
	p.nudge()
	return false
}

// nudge asks the discovery loop to retry without waiting for its back-off.
func (p *Provider) nudge() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// AuthURL returns the URL of the issuer's authorization endpoint for a new
// flow: response_type=code, the configured scopes, state, nonce, and the
// S256 PKCE challenge of codeVerifier, plus the configured prompt,
// domain_hint and auth_params.
//
// state and nonce must be unguessable (crypto/rand, at least 128 bits);
// codeVerifier must follow RFC 7636 (43–128 characters of A–Z a–z 0–9 - . _ ~),
// for example oauth2.GenerateVerifier(). All three must be kept for the
// callback. If discovery has not succeeded yet the error matches
// providers.ErrUnavailable; the first call after Open waits for the first
// discovery attempt (at most `timeout`).
func (p *Provider) AuthURL(ctx context.Context, state, nonce, codeVerifier string) (string, error) {
	return p.AuthURLWithHints(ctx, state, nonce, codeVerifier, nil)
}

// AuthURLWithHints is AuthURL with hints for this one sign-in, typically the
// login page's own query string passed through as is. It reads:
//
//   - login_hint: pre-fills the user name at the issuer (printable, at most
//     256 bytes);
//   - prompt: none, login, consent or select_account, replacing the
//     configured prompt.
//
// Other keys, and values that are not acceptable, are ignored: hints come
// from the browser and must never make a sign-in fail.
func (p *Provider) AuthURLWithHints(ctx context.Context, state, nonce, codeVerifier string, hints url.Values) (string, error) {
	if state == "" || nonce == "" {
		return "", errors.New("oidc: AuthURL needs a state and a nonce")
	}
	if !validVerifier(codeVerifier) {
		return "", errors.New("oidc: the PKCE code verifier must be 43–128 characters of A–Z a–z 0–9 - . _ ~ (RFC 7636)")
	}
	d, err := p.ready(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("nonce", nonce),
		oauth2.S256ChallengeOption(codeVerifier),
	}
	for _, k := range sortedKeys(p.cfg.AuthParams) {
		opts = append(opts, oauth2.SetAuthURLParam(k, p.cfg.AuthParams[k]))
	}
	prompt := p.cfg.Prompt
	if h := hints.Get("prompt"); h != "" && validatePrompt(h) == nil {
		prompt = h
	}
	if prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	if h := hints.Get("login_hint"); h != "" && len(h) <= 256 && !strings.ContainsFunc(h, isControl) {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", h))
	}
	if p.cfg.DomainHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("domain_hint", p.cfg.DomainHint))
	}
	return d.oauth.AuthCodeURL(state, opts...), nil
}

func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	return !strings.ContainsFunc(v, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r))
	})
}

// ready returns the discovery result, waiting for the first attempt if it
// is still running, so a login right after start-up does not fail needlessly.
func (p *Provider) ready(ctx context.Context) (*discovered, error) {
	if d := p.disc.Load(); d != nil {
		return d, nil
	}
	t := time.NewTimer(p.cfg.Timeout + time.Second)
	defer t.Stop()
	select {
	case <-p.firstDone:
	case <-t.C:
	case <-ctx.Done():
		// The browser left: no reason to keep its request waiting for
		// the first discovery.
		return nil, unavailable(fmt.Sprintf("oidc: issuer %s", p.cfg.Issuer), ctx.Err())
	}
	if d := p.disc.Load(); d != nil {
		return d, nil
	}
	p.nudge()
	cause := errors.New("discovery has not succeeded yet")
	if e := p.lastErr.Load(); e != nil {
		cause = *e
	}
	return nil, unavailable(fmt.Sprintf("oidc: issuer %s", p.cfg.Issuer), cause)
}
