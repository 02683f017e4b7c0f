package oidc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/providers"
)

// Errors a Callback may wrap, so the web layer and the logs can tell the
// causes apart. Every refusal from Callback is a *providers.Failure whose
// Reason names the precise cause ("token_expired", "nonce_mismatch"…) and
// whose Err wraps one of these (or providers.ErrUnavailable).
var (
	// ErrIssuerError means the issuer redirected back with an `error`
	// parameter (the user cancelled, consent was refused, prompt=none
	// could not be honoured…).
	ErrIssuerError = errors.New("the identity provider returned an error")
	// ErrCodeExchange means the token endpoint refused the code: replayed
	// or expired code, wrong PKCE verifier, wrong client secret or
	// redirect URI.
	ErrCodeExchange = errors.New("the authorization code was refused")
	// ErrInvalidToken means the ID token failed verification (signature,
	// issuer, audience, expiry, nonce, at_hash).
	ErrInvalidToken = errors.New("the ID token failed verification")
	// ErrClaims means the verified claims do not make a usable identity
	// (no user id, a user id Qlik cannot take, userinfo for another user).
	ErrClaims = errors.New("the claims do not make a usable identity")
	// ErrNotAllowed means the user signed in correctly but is refused by
	// allowed_groups, allowed_domains or require_verified_email. It is an
	// authorisation refusal, not a credential problem.
	ErrNotAllowed = errors.New("not allowed to use this service")
)

// Messages safe to show the user (Failure.UserText).
const (
	textDenied           = "Sign-in was cancelled or refused by the identity provider."
	textNotAllowed       = "Your account is not allowed to use this service."
	textEmailNotVerified = "Your e-mail address is not verified with the identity provider."
)

func failure(reason providers.Reason, err error) error {
	return &providers.Failure{Reason: reason, Err: err}
}

func refusal(reason providers.Reason, userText string, err error) error {
	return &providers.Failure{Reason: reason, UserText: userText, Err: err}
}

// unreachable reports whether err means the issuer could not be reached
// (as opposed to having answered "no").
func unreachable(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// clean makes a value that came through the browser (error codes and
// descriptions) fit for a log line: bounded, and printed with %q by callers.
func clean(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// unavailable wraps err so it matches providers.ErrUnavailable.
func unavailable(what string, err error) error {
	return failure(providers.ReasonIssuerDown, fmt.Errorf("%s: %w: %w", what, providers.ErrUnavailable, err))
}
