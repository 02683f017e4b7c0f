package mfa

import (
	"errors"
	"fmt"
	"net/url"
)

// Store kinds of the mfa block.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// DefaultSQLiteFile is mfa.sqlite_file's default, next to the
// configuration (or in $STATE_DIRECTORY).
const DefaultSQLiteFile = "qlikgate-mfa.db"

// Config is the top-level `mfa:` block: where enrolments are kept and the
// key their TOTP secrets are encrypted with. It is only needed when a
// provider's mfa.mode is optional or required.
type Config struct {
	// Store is where enrolments live: "sqlite" (a file, one instance, the
	// default) or "postgres" (a server shared by several instances). The
	// schema is created and migrated at start.
	Store string `yaml:"store"`
	// SQLiteFile is the SQLite database of store: sqlite. qlikgate creates
	// it readable by its own user only, and must be able to create files
	// in its directory (the write-ahead log). A relative path is relative
	// to the configuration file. The default is next to the configuration,
	// or in $STATE_DIRECTORY when that is set.
	SQLiteFile string `yaml:"sqlite_file"`
	// PostgresDSN is the connection string of store: postgres, like
	// postgres://qlikgate:PASSWORD@db.example.com:5432/qlikgate?sslmode=verify-full.
	PostgresDSN string `yaml:"postgres_dsn" secret:"true"`
	// Secret encrypts the TOTP secrets at rest (AES-256-GCM, with a key
	// derived by HKDF). At least 32 bytes; keep it apart from the
	// database and from session.secret. Required when a provider uses MFA.
	Secret string `yaml:"secret" secret:"true"`
	// PreviousSecrets still decrypt secrets sealed with an older secret,
	// so the secret can be rotated; new enrolments use the current one.
	// Do not drop an old secret while enrolments made under it remain:
	// their users could no longer pass the second factor.
	PreviousSecrets []string `yaml:"previous_secrets"`
	// RPID is the passkeys' relying party id (methods: [webauthn]). Empty,
	// the default: the host of server.public_url. Set it to a parent
	// domain of that host (example.org for sso.example.org) only if
	// passkeys must keep working when qlikgate moves to another host of
	// that domain; never to a domain others control. The origin passkeys
	// are accepted from is always server.public_url's.
	RPID string `yaml:"rp_id"`
}

// DefaultConfig is the mfa block's default.
func DefaultConfig() Config { return Config{Store: StoreSQLite, SQLiteFile: DefaultSQLiteFile} }

// Validate checks the block; used says whether any provider enables a
// second factor (only then are the secret and store required).
func (c Config) Validate(used bool) error {
	var errs []error
	switch c.Store {
	case StoreSQLite:
		if c.SQLiteFile == "" {
			errs = append(errs, errors.New("sqlite_file: required with store: sqlite"))
		}
		if c.PostgresDSN != "" {
			errs = append(errs, errors.New(`postgres_dsn: set, but store is "sqlite": write store: postgres, or remove postgres_dsn`))
		}
	case StorePostgres:
		if u, err := url.Parse(c.PostgresDSN); c.PostgresDSN == "" || err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("postgres_dsn: required with store: postgres, a URL like postgres://user:password@host:5432/qlikgate?sslmode=verify-full"))
		}
	default:
		errs = append(errs, fmt.Errorf("store: %q is not supported: use sqlite or postgres", c.Store))
	}
	if used || c.Secret != "" {
		if _, err := NewSealer(c.Secret, c.PreviousSecrets); err != nil {
			if c.Secret == "" {
				err = errors.New("secret: required when a provider has mfa.mode optional or required: at least 32 random bytes (`openssl rand -base64 48`)")
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
