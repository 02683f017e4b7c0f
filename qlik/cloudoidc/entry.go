package cloudoidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/qlikgate/qlikgate/qlik"
)

// Bounds on what the browser's pending entry carries: the validated
// request travels in qlikgate's session (a cookie with the default store),
// so it must stay small.
const (
	maxState = 2048
	maxNonce = 512
	maxQuery = 8192
)

// authorizeKeys are the parameters a validated request keeps, in the
// entry, until Login answers it.
var authorizeKeys = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "response_mode"}

// optionalKeys are the other parameters the library reads.
var optionalKeys = []string{"prompt", "max_age", "login_hint", "ui_locales", "id_token_hint", "display", "acr_values"}

// ParseEntry is the authorization endpoint's request check. Every refusal
// (unknown client, a redirect_uri not registered, a response_type other
// than code, PKCE other than S256, a request object) is an error page, so
// nothing is ever redirected to an address the configuration does not
// list.
func (t *Target) ParseEntry(q url.Values) (qlik.Entry, error) {
	ar, err := t.parseAuthorize(context.Background(), q)
	if err != nil {
		return qlik.Entry{}, fmt.Errorf("%w: cloud-oidc %s authorization request: %v", qlik.ErrBadEntry, t.id, err)
	}
	kept := url.Values{}
	kept.Set("client_id", ar.ClientID)
	kept.Set("redirect_uri", ar.RedirectURI)
	kept.Set("response_type", string(ar.ResponseType))
	kept.Set("scope", strings.Join(ar.Scopes, " "))
	for k, v := range map[string]string{"state": ar.State, "nonce": ar.Nonce, "code_challenge": ar.CodeChallenge,
		"code_challenge_method": string(ar.CodeChallengeMethod), "response_mode": string(ar.ResponseMode)} {
		if v != "" {
			kept.Set(k, v)
		}
	}
	e := qlik.Entry{ReturnTo: kept.Encode()}
	// prompt=login is max_age=0 (the library's reading); consent and
	// select_account ask for screens qlikgate does not have and change
	// nothing.
	maxAge, _ := op.ValidateAuthReqPrompt(ar.Prompt, ar.MaxAge) // checked in parseAuthorize
	if maxAge != nil && *maxAge <= maxMaxAge {
		d := time.Duration(*maxAge) * time.Second
		e.MaxAge = &d
	}
	if slices.Contains(ar.Prompt, oidc.PromptNone) {
		// ar.RedirectURI is one the client registered (parseAuthorize).
		answer := func(oe *oidc.Error) (string, error) {
			oe.State = ar.State
			u, err := op.AuthResponseURL(ar.RedirectURI, oidc.ResponseTypeCode, oidc.ResponseModeQuery, oe, t.provider.Encoder())
			if err != nil {
				return "", fmt.Errorf("cloud-oidc %s: prompt=none error response: %w", t.id, err)
			}
			return u, nil
		}
		if e.NoLogin, err = answer(oidc.ErrLoginRequired().WithDescription("no qlikgate sign-in to answer prompt=none")); err != nil {
			return qlik.Entry{}, err
		}
		// The denial says no more than the 403 page would: no rule, no group.
		if e.NoAccess, err = answer(oidc.ErrAccessDenied().WithDescription("the user may not sign in to this tenant")); err != nil {
			return qlik.Entry{}, err
		}
	}
	return e, nil
}

// maxMaxAge bounds max_age (seconds) so that it fits a time.Duration; a
// larger one is no bound at all.
const maxMaxAge = 100 * 365 * 24 * 3600

// parseAuthorize decodes and checks an authorization request with the
// library's validation, plus the rules of this provider.
func (t *Target) parseAuthorize(ctx context.Context, q url.Values) (*oidc.AuthRequest, error) {
	if n := len(q.Encode()); n > maxQuery {
		return nil, fmt.Errorf("request of %d bytes; at most %d", n, maxQuery)
	}
	for _, k := range []string{"request", "request_uri", "registration"} {
		if q.Has(k) {
			return nil, fmt.Errorf("parameter %s is not supported", k)
		}
	}
	for _, k := range slices.Concat(authorizeKeys, []string{"prompt", "max_age"}) {
		if len(q[k]) > 1 {
			return nil, fmt.Errorf("parameter %s is repeated", k)
		}
	}
	// The library's decoder matches names regardless of case; OAuth's are
	// case-sensitive, so only the exact names reach it (Client_id must not
	// stand in for client_id, nor two spellings make one parameter).
	exact := url.Values{}
	for _, k := range append(authorizeKeys, optionalKeys...) {
		if v, ok := q[k]; ok {
			exact[k] = v
		}
	}
	ar := new(oidc.AuthRequest)
	if err := t.provider.Decoder().Decode(ar, exact); err != nil {
		return nil, fmt.Errorf("cannot decode: %v", err)
	}
	if ar.ClientID == "" {
		return nil, errors.New("client_id missing")
	}
	cl, err := storage{t}.GetClientByClientID(ctx, ar.ClientID)
	if err != nil {
		return nil, fmt.Errorf("unknown client_id %q", clip(ar.ClientID))
	}
	if ar.ResponseType != oidc.ResponseTypeCode {
		return nil, fmt.Errorf("response_type %q; only code is supported", clip(string(ar.ResponseType)))
	}
	if _, err := op.ValidateAuthRequestClient(ctx, ar, cl, t.provider.IDTokenHintVerifier(ctx)); err != nil {
		return nil, fmt.Errorf("redirect_uri %q: %v", clip(ar.RedirectURI), describe(err))
	}
	if _, err := op.ValidateAuthReqPrompt(ar.Prompt, ar.MaxAge); err != nil {
		return nil, fmt.Errorf("prompt %q: %v", clip(strings.Join(ar.Prompt, " ")), describe(err))
	}
	if !slices.Contains(ar.Scopes, oidc.ScopeOpenID) {
		return nil, errors.New("scope lacks openid")
	}
	switch {
	case ar.CodeChallenge == "" && ar.CodeChallengeMethod != "":
		return nil, errors.New("code_challenge_method without code_challenge")
	case ar.CodeChallenge != "" && ar.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, fmt.Errorf("code_challenge_method %q; only S256 is accepted", clip(string(ar.CodeChallengeMethod)))
	case ar.CodeChallenge != "" && (len(ar.CodeChallenge) < 43 || len(ar.CodeChallenge) > 128):
		return nil, errors.New("code_challenge is not an S256 challenge (43 to 128 characters)")
	}
	if ar.ResponseMode != "" && ar.ResponseMode != oidc.ResponseModeQuery {
		return nil, fmt.Errorf("response_mode %q; only query is supported", clip(string(ar.ResponseMode)))
	}
	if len(ar.State) > maxState {
		return nil, fmt.Errorf("state of %d bytes; at most %d", len(ar.State), maxState)
	}
	if len(ar.Nonce) > maxNonce {
		return nil, fmt.Errorf("nonce of %d bytes; at most %d", len(ar.Nonce), maxNonce)
	}
	return ar, nil
}

// describe is the library's error description, which names the check.
func describe(err error) string {
	var oe *oidc.Error
	if errors.As(err, &oe) && oe.Description != "" {
		return string(oe.ErrorType) + ": " + oe.Description
	}
	return err.Error()
}

// clip keeps a quoted request value short in errors and logs.
func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// authTime is the ID token's auth_time: when the user signed in to
// qlikgate, not when single sign-on issued this code; now when the web
// layer did not say (or a clock step put it in the future).
func authTime(signedIn, now time.Time) time.Time {
	if signedIn.IsZero() || signedIn.After(now) {
		return now
	}
	return signedIn
}

// Login answers the authorization request the entry kept: a code bound to
// the client, the redirect URI, the nonce and the PKCE challenge, valid
// CodeLifetime and usable once, sent to the registered redirect URI with
// the state unchanged.
func (t *Target) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	if err := ctx.Err(); err != nil {
		return qlik.Handoff{}, fmt.Errorf("cloud-oidc %s: %w", t.id, err)
	}
	q, err := url.ParseQuery(e.ReturnTo)
	if err != nil || e.ReturnTo == "" {
		return qlik.Handoff{}, fmt.Errorf("%w: cloud-oidc %s: no authorization request in the entry (open the tenant, which sends you here)", qlik.ErrBadEntry, t.id)
	}
	// Checked again: the configuration may have changed since the entry.
	ar, err := t.parseAuthorize(ctx, q)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("%w: cloud-oidc %s authorization request: %v", qlik.ErrBadEntry, t.id, err)
	}
	if strings.TrimSpace(u.UserID) == "" {
		return qlik.Handoff{}, fmt.Errorf("cloud-oidc %s: the user has no user id", t.id)
	}
	if strings.TrimSpace(u.Email) == "" {
		return qlik.Handoff{}, fmt.Errorf("cloud-oidc %s: user %q %w", t.id, u.UserID, errNoEmail)
	}
	name := u.Name
	if strings.TrimSpace(name) == "" {
		name = u.UserID // Qlik requires a name; the id is better than a failed login
	}
	now := t.now()
	g := &grant{
		ID: rand.Text(), ClientID: ar.ClientID, RedirectURI: ar.RedirectURI, State: ar.State, Nonce: ar.Nonce,
		Scopes: ar.Scopes, Challenge: ar.CodeChallenge, Method: string(ar.CodeChallengeMethod),
		ResponseMode: string(ar.ResponseMode), Subject: t.subject(u), AuthTime: authTime(u.AuthTime, now),
		Name: name, Email: u.Email, Groups: slices.Clone(u.Groups),
	}
	code := rand.Text()
	if err := t.store.putCode(ctx, code, g, now.Add(CodeLifetime), now); err != nil {
		return qlik.Handoff{}, fmt.Errorf("cloud-oidc %s: %w", t.id, err)
	}
	redirect, err := op.AuthResponseURL(ar.RedirectURI, oidc.ResponseTypeCode, oidc.ResponseModeQuery,
		&op.CodeResponseType{Code: code, State: ar.State}, t.provider.Encoder())
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("cloud-oidc %s: %w", t.id, err)
	}
	return qlik.Handoff{Redirect: redirect}, nil
}
