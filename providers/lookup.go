package providers

import "context"

// IdentityLookup is a password provider that can find a user's current
// identity without their password, for a sign-in that proved who the
// user is another way (a passkey, passwordless). The identity must be the
// one Login would give (same UserID, current groups), and a user who
// could no longer sign in (unknown, disabled) must be refused with an
// error matching ErrBadCredentials; ErrUnavailable when the directory
// cannot be asked.
type IdentityLookup interface {
	LookupIdentity(ctx context.Context, userID string) (Identity, error)
}
