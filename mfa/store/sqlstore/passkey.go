package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/qlikgate/qlikgate/mfa/store"
)

// b64 is how ids and handles are kept: text, the same on both databases.
var b64 = base64.RawURLEncoding

// RecoveryLeft implements store.Store.
func (s *Store) RecoveryLeft(ctx context.Context, u store.User) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM mfa_recovery WHERE provider = $1 AND user_id = $2`), u.Provider, u.UserID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the recovery codes: %w", err)
	}
	return n, nil
}

// ReplaceRecoveryCodes implements store.Store.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, u store.User, hashes []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replace the recovery codes: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM mfa_recovery WHERE provider = $1 AND user_id = $2`), u.Provider, u.UserID); err != nil {
		return fmt.Errorf("replace the recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO mfa_recovery (provider, user_id, hash) VALUES ($1, $2, $3)`), u.Provider, u.UserID, h); err != nil {
			return fmt.Errorf("store the recovery codes: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replace the recovery codes: commit: %w", err)
	}
	return nil
}

// RemoveTOTP implements store.Store.
func (s *Store) RemoveTOTP(ctx context.Context, u store.User) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("remove the TOTP enrolment: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM mfa_totp WHERE provider = $1 AND user_id = $2`), u.Provider, u.UserID)
	if err != nil {
		return false, fmt.Errorf("remove the TOTP enrolment: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM mfa_recovery WHERE provider = $1 AND user_id = $2
		AND NOT EXISTS (SELECT 1 FROM mfa_passkey p WHERE p.provider = $1 AND p.user_id = $2)`), u.Provider, u.UserID); err != nil {
		return false, fmt.Errorf("remove the recovery codes: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("remove the TOTP enrolment: commit: %w", err)
	}
	return n > 0, nil
}

// PasskeyHandle implements store.Store.
func (s *Store) PasskeyHandle(ctx context.Context, u store.User, proposed []byte) ([]byte, error) {
	if len(proposed) == 0 {
		return nil, errors.New("store a passkey user handle: empty handle")
	}
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO mfa_passkey_user (provider, user_id, handle) VALUES ($1, $2, $3)
		ON CONFLICT (provider, user_id) DO NOTHING`), u.Provider, u.UserID, b64.EncodeToString(proposed)); err != nil {
		return nil, fmt.Errorf("store a passkey user handle: %w", err)
	}
	var h string
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT handle FROM mfa_passkey_user WHERE provider = $1 AND user_id = $2`), u.Provider, u.UserID).Scan(&h); err != nil {
		return nil, fmt.Errorf("read the passkey user handle: %w", err)
	}
	return b64.DecodeString(h)
}

// UserByHandle implements store.Store.
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (store.User, error) {
	var u store.User
	err := s.db.QueryRowContext(ctx, s.q(`SELECT provider, user_id FROM mfa_passkey_user WHERE handle = $1`), b64.EncodeToString(handle)).Scan(&u.Provider, &u.UserID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("find the user of a passkey: %w", err)
	}
	return u, nil
}

// AddPasskey implements store.Store.
func (s *Store) AddPasskey(ctx context.Context, u store.User, p store.Passkey) error {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO mfa_passkey (id, provider, user_id, name, record, sign_count, created_at, last_used)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT (id) DO NOTHING`),
		b64.EncodeToString(p.ID), u.Provider, u.UserID, p.Name, string(p.Record), int64(p.SignCount), p.Created.Unix())
	if err != nil {
		return fmt.Errorf("store a passkey: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store a passkey: %w", err)
	} else if n == 0 {
		return store.ErrExists
	}
	return nil
}

// Passkeys implements store.Store.
func (s *Store) Passkeys(ctx context.Context, u store.User) ([]store.Passkey, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, name, record, sign_count, created_at, last_used FROM mfa_passkey
		WHERE provider = $1 AND user_id = $2 ORDER BY created_at, id`), u.Provider, u.UserID)
	if err != nil {
		return nil, fmt.Errorf("read the passkeys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []store.Passkey{}
	for rows.Next() {
		var p store.Passkey
		var id, record string
		var count, created, used int64
		if err := rows.Scan(&id, &p.Name, &record, &count, &created, &used); err != nil {
			return nil, fmt.Errorf("read the passkeys: %w", err)
		}
		if p.ID, err = b64.DecodeString(id); err != nil {
			return nil, fmt.Errorf("read the passkeys: id %q: %w", id, err)
		}
		p.Record, p.SignCount, p.Created = []byte(record), uint32(count), time.Unix(created, 0)
		if used != 0 {
			p.LastUsed = time.Unix(used, 0)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the passkeys: %w", err)
	}
	return out, nil
}

// UsePasskey implements store.Store.
func (s *Store) UsePasskey(ctx context.Context, u store.User, id, record []byte, signCount uint32, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE mfa_passkey SET record = $4, sign_count = $5, last_used = $6
		WHERE provider = $1 AND user_id = $2 AND id = $3 AND (sign_count < $5 OR (sign_count = 0 AND $5 = 0))`),
		u.Provider, u.UserID, b64.EncodeToString(id), string(record), int64(signCount), now.Unix())
	if err != nil {
		return false, fmt.Errorf("record a passkey use: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record a passkey use: %w", err)
	}
	return n == 1, nil
}

// RemovePasskey implements store.Store.
func (s *Store) RemovePasskey(ctx context.Context, u store.User, id []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM mfa_passkey WHERE provider = $1 AND user_id = $2 AND id = $3`), u.Provider, u.UserID, b64.EncodeToString(id))
	if err != nil {
		return false, fmt.Errorf("remove a passkey: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("remove a passkey: %w", err)
	}
	return n == 1, nil
}

// SpendChallenge implements store.Store.
func (s *Store) SpendChallenge(ctx context.Context, challenge string, expires, now time.Time) (bool, error) {
	if challenge == "" {
		return false, errors.New("spend a WebAuthn challenge: empty challenge")
	}
	// Forgetting what expired keeps the table small; an expired challenge
	// is refused by the ceremony before it gets here.
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM mfa_challenge WHERE expires_at < $1`), now.Unix()); err != nil {
		return false, fmt.Errorf("spend a WebAuthn challenge: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO mfa_challenge (challenge, expires_at) VALUES ($1, $2) ON CONFLICT (challenge) DO NOTHING`),
		challenge, expires.Unix())
	if err != nil {
		return false, fmt.Errorf("spend a WebAuthn challenge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("spend a WebAuthn challenge: %w", err)
	}
	return n == 1, nil
}
