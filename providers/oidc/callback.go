package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qlikgate/qlikgate/providers"
)

// Callback completes a flow started by AuthURL. q is the query of the
// request to the callback URL; nonce and codeVerifier are the values stored
// for the flow whose state the web layer has already matched.
//
// It turns an `error` from the issuer into a refusal, exchanges the code
// (with the PKCE verifier), verifies the ID token (signature through the
// issuer's keys, issuer, audience, expiry, nonce, at_hash), calls userinfo
// when configured, maps the claims and applies the allowed_groups,
// allowed_domains and require_verified_email gates.
//
// Every error is a *providers.Failure with a Reason for the log. Errors
// match providers.ErrUnavailable when the issuer could not be reached,
// ErrNotAllowed (with a UserText) for authorisation refusals, and otherwise
// ErrIssuerError, ErrCodeExchange, ErrInvalidToken or ErrClaims. Error texts
// never contain the code or a token.
func (p *Provider) Callback(ctx context.Context, q url.Values, nonce, codeVerifier string) (providers.Identity, error) {
	if q.Get("error") != "" {
		return providers.Identity{}, issuerError(q)
	}
	// RFC 9207: an issuer that names itself must be ours (mix-up defence).
	if iss := q.Get("iss"); iss != "" && iss != p.cfg.Issuer {
		return providers.Identity{}, failure(providers.ReasonIssuerMismatch,
			fmt.Errorf("%w: the callback names issuer %q, expected %q", ErrIssuerError, clean(iss, 200), p.cfg.Issuer))
	}
	code := q.Get("code")
	if code == "" {
		return providers.Identity{}, failure(providers.ReasonMissingCode, fmt.Errorf("%w: the callback has neither code nor error", ErrCodeExchange))
	}
	if nonce == "" || codeVerifier == "" {
		return providers.Identity{}, failure(providers.ReasonMissingFlow, errors.New("oidc: Callback needs the flow's nonce and code verifier"))
	}
	d, err := p.ready(ctx)
	if err != nil {
		return providers.Identity{}, err
	}
	ctx = gooidc.ClientContext(ctx, p.client)

	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(codeVerifier))
	if err != nil {
		return providers.Identity{}, exchangeError(err)
	}
	c, err := p.verify(ctx, d, tok, nonce)
	if err != nil {
		return providers.Identity{}, err
	}
	if p.wantUserInfo(d, c) {
		if err := p.addUserInfo(ctx, d, tok, c); err != nil {
			return providers.Identity{}, err
		}
	}
	return p.identity(ctx, c)
}

// issuerError reports the issuer's own refusal (RFC 6749 §4.1.2.1).
func issuerError(q url.Values) error {
	code := clean(q.Get("error"), 64)
	err := fmt.Errorf("%w: %q", ErrIssuerError, code)
	if desc := q.Get("error_description"); desc != "" {
		err = fmt.Errorf("%w: %q", err, clean(desc, 300))
	}
	switch code {
	case "access_denied":
		return refusal(providers.ReasonAccessDenied, textDenied, err)
	case "temporarily_unavailable", "server_error":
		return unavailable("oidc: the identity provider", err)
	}
	return failure(providers.ReasonIssuerError, err)
}

// exchangeError classifies a failed token request. The code and verifier
// are in the request body, never in these messages.
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		cause := fmt.Errorf("%w: the token endpoint answered %d %q %q", ErrCodeExchange,
			status, clean(re.ErrorCode, 64), clean(re.ErrorDescription, 300))
		if status >= http.StatusInternalServerError {
			return unavailable("oidc: token endpoint", cause)
		}
		return failure(providers.ReasonCodeExchange, cause)
	}
	if unreachable(err) {
		return unavailable("oidc: token endpoint", err)
	}
	return failure(providers.ReasonCodeExchange, fmt.Errorf("%w: %w", ErrCodeExchange, err))
}

// verify checks the ID token of the token response and returns its claims.
func (p *Provider) verify(ctx context.Context, d *discovered, tok *oauth2.Token, nonce string) (claims, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, failure(providers.ReasonMissingIDToken, fmt.Errorf("%w: the token response has no id_token (is openid among the scopes?)", ErrInvalidToken))
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *gooidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, failure(providers.ReasonTokenExpired, fmt.Errorf("%w: expired at %s (check the clocks of qlikgate and the identity provider)",
				ErrInvalidToken, expired.Expiry.UTC().Format("2006-01-02T15:04:05Z")))
		}
		return nil, failure(providers.ReasonTokenInvalid, fmt.Errorf("%w: %w", ErrInvalidToken, err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, failure(providers.ReasonNonceMismatch, fmt.Errorf("%w: the nonce is not the one of this flow", ErrInvalidToken))
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, failure(providers.ReasonTokenInvalid, fmt.Errorf("%w: at_hash: %w", ErrInvalidToken, err))
		}
	}
	var payload json.RawMessage
	if err := idt.Claims(&payload); err != nil {
		return nil, failure(providers.ReasonTokenInvalid, fmt.Errorf("%w: %w", ErrInvalidToken, err))
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return nil, failure(providers.ReasonTokenInvalid, fmt.Errorf("%w: %w", ErrInvalidToken, err))
	}
	// OIDC Core §3.1.3.7: with several audiences, azp must be us.
	if azp, ok := c.str("azp"); ok && len(idt.Audience) > 1 && azp != p.cfg.ClientID {
		return nil, failure(providers.ReasonTokenInvalid, fmt.Errorf("%w: authorized party %q is not this client", ErrInvalidToken, clean(azp, 200)))
	}
	if idt.Subject == "" {
		return nil, failure(providers.ReasonTokenInvalid, fmt.Errorf("%w: no sub claim", ErrInvalidToken))
	}
	return c, nil
}

// wantUserInfo decides whether to call userinfo: always, never, or (auto)
// when a claim the configuration reads is not in the ID token. Zitadel,
// and others when the access token is issued too, put profile and e-mail
// claims only in userinfo; Keycloak and Okta often put groups only there.
func (p *Provider) wantUserInfo(d *discovered, c claims) bool {
	switch p.cfg.UserInfo {
	case UserInfoAlways:
		return true
	case UserInfoNever:
		return false
	}
	if !d.userinfo {
		return false
	}
	return slices.ContainsFunc(p.configuredClaims(), func(path string) bool { return !c.has(path) })
}

func (p *Provider) configuredClaims() []string {
	paths := []string{p.cfg.UserIDClaim}
	for _, s := range []string{p.cfg.NameClaim, p.cfg.EmailClaim, p.cfg.GroupsClaim} {
		if s != "" {
			paths = append(paths, s)
		}
	}
	for _, name := range sortedKeys(p.cfg.Attributes) {
		paths = append(paths, p.cfg.Attributes[name])
	}
	return paths
}

// addUserInfo merges the userinfo claims into c; the ID token's own claims
// win. The userinfo answer must be about the same subject (OIDC Core
// §5.3.2), or a token substitution could sign in someone else.
func (p *Provider) addUserInfo(ctx context.Context, d *discovered, tok *oauth2.Token, c claims) error {
	if !d.userinfo {
		return failure(providers.ReasonUserinfo, fmt.Errorf("%w: userinfo: always, but the issuer has no userinfo endpoint", ErrClaims))
	}
	ui, err := d.op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		if unreachable(err) {
			return unavailable("oidc: userinfo endpoint", err)
		}
		return failure(providers.ReasonUserinfo, fmt.Errorf("%w: userinfo: %w", ErrClaims, err))
	}
	var payload json.RawMessage
	if err := ui.Claims(&payload); err != nil {
		return failure(providers.ReasonUserinfo, fmt.Errorf("%w: userinfo: %w", ErrClaims, err))
	}
	extra, err := decodeClaims(payload)
	if err != nil {
		return failure(providers.ReasonUserinfo, fmt.Errorf("%w: userinfo: %w", ErrClaims, err))
	}
	if sub, _ := c.str("sub"); ui.Subject != sub {
		return failure(providers.ReasonUserinfoOther, fmt.Errorf("%w: userinfo is about subject %q, the ID token about %q", ErrClaims, clean(ui.Subject, 200), sub))
	}
	c.merge(extra)
	return nil
}
