package main

import (
	"context"
	"fmt"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store/sqlstore"
)

// mfaStoreCheck is `qlikgate check`'s look at the enrolment store: that
// it opens (which applies the migrations, as serve would), which schema
// version it has, that it can be read, and that mfa.secret is usable.
type mfaStoreCheck struct {
	cfg mfa.Config
}

// versioned is what sqlstore offers beyond store.Store.
type versioned interface {
	Version(ctx context.Context) (int, error)
}

func (m mfaStoreCheck) where() string {
	if m.cfg.Store == mfa.StorePostgres {
		return "postgres"
	}
	return "sqlite " + m.cfg.SQLiteFile
}

func (m mfaStoreCheck) Diagnose(ctx context.Context) []check.Result {
	var out []check.Result
	if _, err := mfa.NewSealer(m.cfg.Secret, m.cfg.PreviousSecrets); err != nil {
		out = append(out, check.Fail("mfa.secret", err.Error(), "set mfa.secret to at least 32 random bytes (`openssl rand -base64 48`)"))
	}
	st, err := openMFAStore(ctx, m.cfg)
	if err != nil {
		fix := "check mfa.sqlite_file: qlikgate must be able to create and write the file and its directory"
		if m.cfg.Store == mfa.StorePostgres {
			fix = "check mfa.postgres_dsn: the server must be reachable and the role allowed to create tables in the database"
		}
		return append(out, check.Fail("mfa.store", err.Error(), fix)) // the error names the key and the file
	}
	defer func() { _ = st.Close() }()
	version := "?"
	if v, ok := st.(versioned); ok {
		n, err := v.Version(ctx)
		if err != nil {
			return append(out, check.Fail("mfa.store", fmt.Sprintf("%s: %v", m.where(), err), "the database opened but its schema cannot be read: check the role's rights"))
		}
		version = fmt.Sprint(n)
		if n != sqlstore.SchemaVersion() {
			return append(out, check.Fail("mfa.store", fmt.Sprintf("%s: schema version %d, this qlikgate writes %d", m.where(), n, sqlstore.SchemaVersion()),
				"upgrade qlikgate, or restore a backup made by this version"))
		}
	}
	list, err := st.List(ctx)
	if err != nil {
		return append(out, check.Fail("mfa.store", fmt.Sprintf("%s: schema version %s, but the enrolments cannot be read: %v", m.where(), version, err),
			"check the role's rights on the mfa_* tables"))
	}
	return append(out, check.Pass("mfa.store", fmt.Sprintf("%s: schema version %s, %d enrolled users", m.where(), version, len(list))))
}
