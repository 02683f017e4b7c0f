package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store"
	"github.com/qlikgate/qlikgate/mfa/store/sqlstore"
)

func TestCheckMFAStore(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mfa.db")
	st, err := sqlstore.OpenSQLite(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddPasskey(context.Background(), store.User{Provider: "corp", UserID: "alice"}, store.Passkey{ID: []byte("k"), Name: "k", Record: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	newer := filepath.Join(dir, "newer.db")
	st, err = sqlstore.OpenSQLite(context.Background(), newer)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	db, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO mfa_schema (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	secret := strings.Repeat("x", 40)
	for _, tc := range []struct {
		name string
		cfg  mfa.Config
		want []string // "name ok detail-part"
	}{
		{"works", mfa.Config{Store: mfa.StoreSQLite, SQLiteFile: good, Secret: secret},
			[]string{"mfa.store true sqlite " + good + ": schema version 2, 1 enrolled users"}},
		{"cannot create", mfa.Config{Store: mfa.StoreSQLite, SQLiteFile: filepath.Join(dir, "missing", "mfa.db"), Secret: secret},
			[]string{"mfa.store false mfa.sqlite_file: " + filepath.Join(dir, "missing", "mfa.db") + ": open the SQLite file"}},
		{"newer schema", mfa.Config{Store: mfa.StoreSQLite, SQLiteFile: newer, Secret: secret},
			[]string{"mfa.store false mfa.sqlite_file: " + newer + ": the MFA store has schema version 99, newer than this qlikgate knows (2): upgrade qlikgate"}},
		{"short secret", mfa.Config{Store: mfa.StoreSQLite, SQLiteFile: good, Secret: "short"},
			[]string{"mfa.secret false ", "mfa.store true "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mfaStoreCheck{cfg: tc.cfg}.Diagnose(context.Background())
			if len(got) != len(tc.want) {
				t.Fatalf("results %+v, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				line := got[i].Name + " " + map[bool]string{true: "true", false: "false"}[got[i].OK] + " " + got[i].Detail
				if !strings.HasPrefix(line, w) && !strings.Contains(line, w) {
					t.Errorf("result %d: %q, want %q", i, line, w)
				}
				if !got[i].OK && got[i].Fix == "" {
					t.Errorf("result %d fails without a fix", i)
				}
			}
		})
	}
}
