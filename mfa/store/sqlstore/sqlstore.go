// Package sqlstore is the enrolment store on SQL: SQLite in a file (the
// embedded default, pure Go so the Windows build needs no cgo) or
// PostgreSQL (several instances). Both run the same statements; every
// guarantee of store.Store rests on a single conditional UPDATE or DELETE,
// never on a read followed by a write.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/qlikgate/qlikgate/mfa/store"
)

// Store is a store.Store on a SQL database.
type Store struct {
	db     *sql.DB
	sqlite bool
}

var _ store.Store = (*Store)(nil)

// OpenSQLite opens (creating it, readable by the owner only) the SQLite
// file at path and applies the migrations. WAL, a busy timeout and
// immediate transactions let several processes write without
// "database is locked".
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the SQLite file: %w", err)
	}
	_ = f.Close()
	q := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q)
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return open(ctx, db, true)
}

// OpenPostgres connects to the PostgreSQL DSN and applies the migrations.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	return open(ctx, db, false)
}

// The connection pool: every sign-in with a second factor reads the store
// and most write it, so connections are kept rather than reopened (a
// PostgreSQL connection costs a TLS and SCRAM handshake, and database/sql
// keeps only two idle ones by default: the load tool saw 59 connections
// opened for 120 logins), and bounded, so a burst of sign-ins cannot use
// up the server's max_connections (100 by default) with several instances.
const (
	maxOpenConns    = 16
	connMaxIdleTime = 5 * time.Minute
)

func open(ctx context.Context, db *sql.DB, sqlite bool) (*Store, error) {
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	s := &Store{db: db, sqlite: sqlite}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// migrations are applied in order, each once; never edit one that was
// released, add a new one.
var migrations = []string{
	`CREATE TABLE mfa_totp (
		provider   TEXT NOT NULL,
		user_id    TEXT NOT NULL,
		sealed     TEXT NOT NULL,
		confirmed  INTEGER NOT NULL DEFAULT 0,
		last_step  BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (provider, user_id)
	);
	CREATE TABLE mfa_recovery (
		provider TEXT NOT NULL,
		user_id  TEXT NOT NULL,
		hash     TEXT NOT NULL,
		PRIMARY KEY (provider, user_id, hash)
	)`,
	// 2: passkeys (WebAuthn). Ids and handles are base64url text, the same
	// on both databases.
	`CREATE TABLE mfa_passkey_user (
		provider TEXT NOT NULL,
		user_id  TEXT NOT NULL,
		handle   TEXT NOT NULL UNIQUE,
		PRIMARY KEY (provider, user_id)
	);
	CREATE TABLE mfa_passkey (
		id         TEXT PRIMARY KEY,
		provider   TEXT NOT NULL,
		user_id    TEXT NOT NULL,
		name       TEXT NOT NULL,
		record     TEXT NOT NULL,
		sign_count BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		last_used  BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX mfa_passkey_by_user ON mfa_passkey (provider, user_id);
	CREATE TABLE mfa_challenge (
		challenge  TEXT PRIMARY KEY,
		expires_at BIGINT NOT NULL
	);
	CREATE INDEX mfa_challenge_by_expiry ON mfa_challenge (expires_at)`,
}

// SchemaVersion is the schema version this qlikgate writes.
func SchemaVersion() int { return len(migrations) }

// Version reads the schema version of the database (qlikgate check).
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM mfa_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the MFA store's schema version: %w", err)
	}
	return v, nil
}

// migrate brings the schema up to date. Instances starting together are
// serialised: SQLite by its immediate transaction, PostgreSQL by an
// advisory lock held for the transaction.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate the MFA store: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if !s.sqlite {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7163081717)`); err != nil {
			return fmt.Errorf("migrate the MFA store: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS mfa_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate the MFA store: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM mfa_schema`).Scan(&version); err != nil {
		return fmt.Errorf("migrate the MFA store: read the version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("the MFA store has schema version %d, newer than this qlikgate knows (%d): upgrade qlikgate", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		for _, stmt := range splitStatements(migrations[i]) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate the MFA store to version %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO mfa_schema (version) VALUES ($1)`), i+1); err != nil {
			return fmt.Errorf("migrate the MFA store to version %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate the MFA store: commit: %w", err)
	}
	return nil
}

var statementEnd = regexp.MustCompile(`;\s*`)

func splitStatements(s string) []string {
	var out []string
	for _, p := range statementEnd.Split(s, -1) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

var pgParam = regexp.MustCompile(`\$([0-9]+)`)

// q writes PostgreSQL's $n parameters as SQLite's numbered ?n.
func (s *Store) q(query string) string {
	if s.sqlite {
		return pgParam.ReplaceAllString(query, "?$1")
	}
	return query
}

// BeginTOTP implements store.Store.
func (s *Store) BeginTOTP(ctx context.Context, u store.User, sealed string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO mfa_totp (provider, user_id, sealed, confirmed, last_step, created_at)
		VALUES ($1, $2, $3, 0, 0, $4)
		ON CONFLICT (provider, user_id) DO UPDATE SET sealed = excluded.sealed, last_step = 0, created_at = excluded.created_at
		WHERE mfa_totp.confirmed = 0`), u.Provider, u.UserID, sealed, now.Unix())
	if err != nil {
		return fmt.Errorf("store a new TOTP secret: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store a new TOTP secret: %w", err)
	} else if n == 0 {
		return store.ErrEnrolled
	}
	return nil
}

// TOTP implements store.Store.
func (s *Store) TOTP(ctx context.Context, u store.User) (store.TOTP, error) {
	var t store.TOTP
	var confirmed int
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT sealed, confirmed, last_step, created_at FROM mfa_totp WHERE provider = $1 AND user_id = $2`),
		u.Provider, u.UserID).Scan(&t.Sealed, &confirmed, &t.LastStep, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.TOTP{}, store.ErrNotFound
	}
	if err != nil {
		return store.TOTP{}, fmt.Errorf("read the TOTP enrolment: %w", err)
	}
	t.Confirmed, t.Created = confirmed == 1, time.Unix(created, 0)
	return t, nil
}

// ConfirmTOTP implements store.Store.
func (s *Store) ConfirmTOTP(ctx context.Context, u store.User, step int64, hashes []string) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("confirm the TOTP enrolment: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE mfa_totp SET confirmed = 1, last_step = $3
		WHERE provider = $1 AND user_id = $2 AND confirmed = 0 AND last_step < $3`), u.Provider, u.UserID, step)
	if err != nil {
		return false, fmt.Errorf("confirm the TOTP enrolment: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM mfa_recovery WHERE provider = $1 AND user_id = $2`), u.Provider, u.UserID); err != nil {
		return false, fmt.Errorf("replace the recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO mfa_recovery (provider, user_id, hash) VALUES ($1, $2, $3)`), u.Provider, u.UserID, h); err != nil {
			return false, fmt.Errorf("store the recovery codes: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("confirm the TOTP enrolment: commit: %w", err)
	}
	return true, nil
}

// AcceptTOTPStep implements store.Store.
func (s *Store) AcceptTOTPStep(ctx context.Context, u store.User, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE mfa_totp SET last_step = $3
		WHERE provider = $1 AND user_id = $2 AND confirmed = 1 AND last_step < $3`), u.Provider, u.UserID, step)
	if err != nil {
		return false, fmt.Errorf("record the TOTP step: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record the TOTP step: %w", err)
	}
	return n == 1, nil
}

// UseRecoveryCode implements store.Store.
func (s *Store) UseRecoveryCode(ctx context.Context, u store.User, hash string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM mfa_recovery WHERE provider = $1 AND user_id = $2 AND hash = $3`), u.Provider, u.UserID, hash)
	if err != nil {
		return false, fmt.Errorf("use a recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use a recovery code: %w", err)
	}
	return n == 1, nil
}

// Remove implements store.Store.
func (s *Store) Remove(ctx context.Context, u store.User) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("remove the enrolment: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int64
	for _, t := range []string{"mfa_totp", "mfa_recovery", "mfa_passkey", "mfa_passkey_user"} {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+t+` WHERE provider = $1 AND user_id = $2`), u.Provider, u.UserID)
		if err != nil {
			return false, fmt.Errorf("remove the enrolment: %w", err)
		}
		c, _ := res.RowsAffected()
		n += c
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("remove the enrolment: commit: %w", err)
	}
	return n > 0, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context) ([]store.Enrolment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT u.provider, u.user_id,
		COALESCE((SELECT t.confirmed FROM mfa_totp t WHERE t.provider = u.provider AND t.user_id = u.user_id), 0),
		COALESCE((SELECT t.created_at FROM mfa_totp t WHERE t.provider = u.provider AND t.user_id = u.user_id),
			(SELECT MIN(p.created_at) FROM mfa_passkey p WHERE p.provider = u.provider AND p.user_id = u.user_id), 0),
		(SELECT COUNT(*) FROM mfa_recovery r WHERE r.provider = u.provider AND r.user_id = u.user_id),
		(SELECT COUNT(*) FROM mfa_passkey p WHERE p.provider = u.provider AND p.user_id = u.user_id)
		FROM (SELECT provider, user_id FROM mfa_totp UNION SELECT provider, user_id FROM mfa_passkey) u
		ORDER BY u.provider, u.user_id`)
	if err != nil {
		return nil, fmt.Errorf("list enrolments: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []store.Enrolment
	for rows.Next() {
		var e store.Enrolment
		var confirmed int
		var created int64
		if err := rows.Scan(&e.User.Provider, &e.User.UserID, &confirmed, &created, &e.RecoveryLeft, &e.Passkeys); err != nil {
			return nil, fmt.Errorf("list enrolments: %w", err)
		}
		e.Confirmed, e.Created = confirmed == 1, time.Unix(created, 0)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list enrolments: %w", err)
	}
	return out, nil
}

// Close implements store.Store.
func (s *Store) Close() error { return s.db.Close() }
