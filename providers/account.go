package providers

import (
	"context"
	"errors"
)

// UsernameNormalizer is implemented by password providers that look a user
// up by something other than the string as typed: LDAP strips "DOMAIN\" and
// "@realm", the static provider folds case. The web layer counts failed
// logins against the normalised name, so that every spelling of one account
// shares one limit.
type UsernameNormalizer interface {
	// NormalizeUsername returns the name the provider will look up for typed,
	// or "" when typed cannot be a username at all. It must not do I/O.
	NormalizeUsername(typed string) string
}

// ErrThrottled means the caller of Login refused the attempt before the
// password was checked (too many recent failures for the account). A
// provider returns an error from EnterAccount unchanged or wrapped.
var ErrThrottled = errors.New("too many attempts")

// AccountGate is called by a password provider once it knows which account
// a login is for, right before it checks the password against it. It lets
// the caller count the attempt against the account itself, whatever name
// found it (an AD user found by sAMAccountName and by userPrincipalName is
// one account with one bad-password counter). An error matching
// ErrThrottled stops the login.
type AccountGate func(ctx context.Context, account string) error

type gateKey struct{}

// WithAccountGate returns a context whose logins report their account to g.
func WithAccountGate(ctx context.Context, g AccountGate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// EnterAccount reports account (a stable id such as the entry's DN) to the
// gate in ctx, if any. A provider calls it after finding the account and
// before the password is checked, and stops the login on an error.
func EnterAccount(ctx context.Context, account string) error {
	if g, ok := ctx.Value(gateKey{}).(AccountGate); ok && g != nil {
		return g(ctx, account)
	}
	return nil
}
