// Package store defines where second-factor enrolments live: an interface
// with the guarantees web relies on (a TOTP step and a recovery code are
// each accepted once, even by several instances at the same moment), and
// its implementations in sub-packages, held to one conformance suite
// (storetest).
package store

import (
	"context"
	"errors"
	"time"
)

// User identifies an enrolled user: the provider id and the user id it
// gave (never the typed name).
type User struct {
	Provider string
	UserID   string
}

// Key is the user as one string, for additional data and logs.
func (u User) Key() string { return u.Provider + "/" + u.UserID }

// TOTP is a user's TOTP enrolment.
type TOTP struct {
	// Sealed is the secret as mfa.Sealer sealed it; stores never see it in
	// the clear.
	Sealed string
	// Confirmed is false between enrolment and the first correct code:
	// until then it is no second factor.
	Confirmed bool
	// LastStep is the last TOTP step accepted (replay protection).
	LastStep int64
	Created  time.Time
}

// Enrolment is one line of `qlikgate mfa list`.
type Enrolment struct {
	User      User
	Confirmed bool
	Created   time.Time
	// RecoveryLeft is how many recovery codes are unused.
	RecoveryLeft int
}

// ErrNotFound is returned when the user has no enrolment.
var ErrNotFound = errors.New("store: no enrolment")

// ErrEnrolled is returned by BeginTOTP when a confirmed enrolment exists.
var ErrEnrolled = errors.New("store: the user already has a confirmed TOTP enrolment")

// Store keeps enrolments. Every method is safe for concurrent use by
// goroutines and by several processes sharing the same database.
type Store interface {
	// BeginTOTP stores an unconfirmed secret for u, replacing an earlier
	// unconfirmed one; it fails if a confirmed enrolment exists (remove it
	// first), so a half-signed-in session cannot replace a factor.
	BeginTOTP(ctx context.Context, u User, sealed string, now time.Time) error
	// TOTP returns u's enrolment, or ErrNotFound.
	TOTP(ctx context.Context, u User) (TOTP, error)
	// ConfirmTOTP marks u's enrolment confirmed, records step as used and
	// replaces the recovery codes with these hashes, in one transaction.
	// It reports false if there was no unconfirmed enrolment whose last
	// step is before step.
	ConfirmTOTP(ctx context.Context, u User, step int64, recoveryHashes []string) (bool, error)
	// AcceptTOTPStep records step as used if it is later than the last one
	// used, and reports whether it was: one statement, so two requests
	// with the same code cannot both pass.
	AcceptTOTPStep(ctx context.Context, u User, step int64) (bool, error)
	// UseRecoveryCode deletes the code with this hash and reports whether
	// it existed: a code works once.
	UseRecoveryCode(ctx context.Context, u User, hash string) (bool, error)
	// Remove deletes u's TOTP enrolment and recovery codes, and reports
	// whether there was anything.
	Remove(ctx context.Context, u User) (bool, error)
	// List returns every enrolment, by provider then user.
	List(ctx context.Context) ([]Enrolment, error)
	// Close releases the database.
	Close() error
}
