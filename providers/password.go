package providers

import (
	"context"
	"errors"
)

// PasswordChanger is a PasswordProvider that can change a user's password
// given the current one, so that a user whose password has expired or must
// be changed (ReasonPasswordExpired, ReasonPasswordMustChange) can fix it on
// qlikgate's own page instead of being turned away.
type PasswordChanger interface {
	PasswordProvider
	// PasswordChangeEnabled reports, without I/O, whether ChangePassword
	// may be offered: the provider is configured for it and its connection
	// to the directory is encrypted.
	PasswordChangeEnabled() bool
	// ChangePassword replaces oldPassword with newPassword for the user
	// that Login would find for username. It never sets a password without
	// the current one. A wrong current password and an unknown user both
	// return an error matching ErrBadCredentials; a new password the
	// directory's policy refuses returns a *Failure matching
	// ErrPasswordRejected, whose Reason says why; a directory that cannot
	// be asked returns ErrUnavailable. Like Login, it reports the account
	// to the context's AccountGate before the current password is checked.
	ChangePassword(ctx context.Context, username, oldPassword, newPassword string) error
}

// ErrPasswordRejected means the directory refused the new password
// (too short, too simple, used before, changed too recently); the current
// password was right and nothing was changed.
var ErrPasswordRejected = errors.New("new password rejected")
