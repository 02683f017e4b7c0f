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
	// Passkeys is how many passkeys (WebAuthn credentials) are registered.
	// A user with passkeys and no TOTP has Confirmed false.
	Passkeys int
}

// Passkey is one registered WebAuthn credential of a user.
type Passkey struct {
	// ID is the credential id the authenticator chose.
	ID []byte
	// Name is what the user called it ("YubiKey", "work laptop").
	Name string
	// Record is the credential record as mfa encodes it (public key,
	// flags, signature counter): public data, no secret.
	Record []byte
	// SignCount is the authenticator's signature counter at the last use.
	SignCount uint32
	Created   time.Time
	// LastUsed is zero until the passkey is first used to sign in.
	LastUsed time.Time
}

// ErrExists is returned by AddPasskey when the credential id is already
// registered (for this user or another).
var ErrExists = errors.New("store: the passkey is already registered")

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
	// Remove deletes u's TOTP enrolment, passkeys and recovery codes (the
	// help desk's reset), and reports
	// whether there was anything.
	Remove(ctx context.Context, u User) (bool, error)
	// RecoveryLeft is how many unused recovery codes u has.
	RecoveryLeft(ctx context.Context, u User) (int, error)
	// ReplaceRecoveryCodes replaces u's recovery codes with these hashes
	// (a user whose first factor is a passkey gets codes too).
	ReplaceRecoveryCodes(ctx context.Context, u User, hashes []string) error

	// PasskeyHandle returns u's WebAuthn user handle, storing proposed as
	// the handle when u has none yet; two instances that propose at once
	// both get the one stored.
	PasskeyHandle(ctx context.Context, u User, proposed []byte) ([]byte, error)
	// UserByHandle returns the user whose handle this is, or ErrNotFound.
	UserByHandle(ctx context.Context, handle []byte) (User, error)
	// AddPasskey registers a passkey for u; ErrExists if its id is taken.
	AddPasskey(ctx context.Context, u User, p Passkey) error
	// Passkeys returns u's passkeys, oldest first (none: an empty slice).
	Passkeys(ctx context.Context, u User) ([]Passkey, error)
	// UsePasskey stores the record and counter after a successful use, if
	// the counter went forward (or the authenticator keeps none: 0), and
	// reports whether it did: a counter going back means a cloned key.
	UsePasskey(ctx context.Context, u User, id, record []byte, signCount uint32, now time.Time) (bool, error)
	// RemovePasskey deletes one of u's passkeys and reports whether it was
	// there.
	RemovePasskey(ctx context.Context, u User, id []byte) (bool, error)
	// SpendChallenge records a WebAuthn challenge as answered, and reports
	// false if it already was: one statement, so the same signed answer
	// counts once, even sent to several instances at the same moment.
	// Records past expires may be forgotten after now.
	SpendChallenge(ctx context.Context, challenge string, expires, now time.Time) (bool, error)

	// RemoveTOTP deletes u's TOTP enrolment (the user's own removal), and
	// the recovery codes too unless u keeps a passkey; it reports whether
	// there was a TOTP enrolment.
	RemoveTOTP(ctx context.Context, u User) (bool, error)

	// List returns every enrolment, by provider then user.
	List(ctx context.Context) ([]Enrolment, error)
	// Close releases the database.
	Close() error
}
