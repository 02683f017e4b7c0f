package oidc

import (
	"context"
	"fmt"
	"slices"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qlikgate/qlikgate/providers"
)

// discovered is what the discovery document tells us; immutable once built.
type discovered struct {
	op       *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	oauth    *oauth2.Config
	userinfo bool // the issuer has a userinfo endpoint
}

// Discover fetches the issuer's discovery document now and, on success,
// makes the provider available. The background loop calls it; `qlikgate
// check` may call it to report on the issuer. The error matches
// providers.ErrUnavailable and explains the cause (unreachable, TLS,
// issuer mismatch…).
func (p *Provider) Discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	op, err := gooidc.NewProvider(gooidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		p.lastErr.Store(&err)
		return fmt.Errorf("oidc: discovery at %s: %w: %w", p.cfg.Issuer, providers.ErrUnavailable, err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = op.Claims(&meta) // already decoded once by go-oidc; absent fields keep defaults
	endpoint := op.Endpoint()
	endpoint.AuthStyle = p.authStyle(meta.AuthMethods)
	d := &discovered{
		op:       op,
		verifier: op.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID}),
		oauth: &oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  p.redirect,
			Scopes:       p.cfg.Scopes,
		},
		userinfo: op.UserInfoEndpoint() != "",
	}
	// Keep the first result: its key set may already hold cached keys.
	p.disc.CompareAndSwap(nil, d)
	return nil
}

// authStyle picks how the client authenticates at the token endpoint.
// Choosing here avoids oauth2's auto-detection, which on failure sends the
// code a second time. Some issuers (Okta) insist on the method the
// application was registered with, hence token_endpoint_auth_method.
func (p *Provider) authStyle(methods []string) oauth2.AuthStyle {
	switch {
	case p.cfg.PublicClient:
		return oauth2.AuthStyleInParams // client_id in the body, no secret
	case p.cfg.TokenAuthMethod == "client_secret_basic":
		return oauth2.AuthStyleInHeader
	case p.cfg.TokenAuthMethod == "client_secret_post":
		return oauth2.AuthStyleInParams
	case len(methods) == 0, slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader // the default of RFC 8414
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// discoverLoop tries discovery until it succeeds or Close is called,
// doubling the wait after each failure up to retry.max. A login that finds
// the provider unavailable shortens the wait (kick), but attempts stay at
// least retry.min apart so a crowd of users cannot hammer a sick issuer.
func (p *Provider) discoverLoop(ctx context.Context) {
	defer close(p.done)
	wait := p.retry.min
	for first := true; ; first = false {
		started := time.Now()
		err := p.Discover(ctx)
		if first {
			close(p.firstDone)
		}
		if err == nil {
			p.log.Info("OIDC discovery succeeded", "event", "oidc_discovery_ok")
			return
		}
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("OIDC discovery failed; the provider is unavailable until it succeeds",
			"event", "oidc_discovery_failed", "cause", err.Error(), "retry_in", wait.String())
		if !p.sleep(ctx, started, wait) {
			return
		}
		wait = min(2*wait, p.retry.max)
	}
}

// sleep waits until started+wait, or until started+retry.min when kicked.
// It returns false when the provider is closing.
func (p *Provider) sleep(ctx context.Context, started time.Time, wait time.Duration) bool {
	deadline := started.Add(wait)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-p.kick:
			if early := started.Add(p.retry.min); early.Before(deadline) {
				deadline = early
				t.Reset(time.Until(deadline))
			}
		}
	}
}
