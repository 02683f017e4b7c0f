package sqlstore

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store"
	"github.com/qlikgate/qlikgate/mfa/store/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "mfa.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestSQLiteSharedFile is several instances on one file: each its own
// Store (its own pool), as separate processes would be.
func TestSQLiteSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mfa.db")
	storetest.Run(t, func(t *testing.T) store.Store {
		_ = os.Remove(path)
		var stores []*Store
		for range 3 {
			s, err := OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			stores = append(stores, s)
		}
		return &spread{stores: stores}
	})
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mfa.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("the store file has mode %v, want 0600: it holds sealed secrets", fi.Mode().Perm())
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mfa.db")
	ctx := context.Background()
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BeginTOTP(ctx, store.User{Provider: "p", UserID: "u"}, "x", time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.TOTP(ctx, store.User{Provider: "p", UserID: "u"}); err != nil {
		t.Fatalf("an enrolment did not survive reopening: %v", err)
	}
	if _, err := s.db.Exec(`INSERT INTO mfa_schema (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if _, err := OpenSQLite(ctx, path); err == nil || !strings.Contains(err.Error(), "upgrade qlikgate") {
		t.Fatalf("a newer schema: %v, want an error saying to upgrade", err)
	}
}

func TestPostgresConformance(t *testing.T) {
	pg := startPostgres(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		db := fmt.Sprintf("t%d", n.Add(1))
		pg.psql(t, "CREATE DATABASE "+db)
		s, err := OpenPostgres(context.Background(), pg.dsn(db))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestPostgresInstancesMigrateTogether starts several instances on one
// empty database at once: the migration must run once, not fail.
func TestPostgresInstancesMigrateTogether(t *testing.T) {
	pg := startPostgres(t)
	pg.psql(t, "CREATE DATABASE together")
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(context.Background(), pg.dsn("together"))
			if err != nil {
				errs <- err
				return
			}
			_ = s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// spread sends each call to the next of several stores on one database.
type spread struct {
	stores []*Store
	n      atomic.Int64
}

func (s *spread) next() *Store { return s.stores[int(s.n.Add(1))%len(s.stores)] }
func (s *spread) BeginTOTP(ctx context.Context, u store.User, sealed string, now time.Time) error {
	return s.next().BeginTOTP(ctx, u, sealed, now)
}
func (s *spread) TOTP(ctx context.Context, u store.User) (store.TOTP, error) {
	return s.next().TOTP(ctx, u)
}
func (s *spread) ConfirmTOTP(ctx context.Context, u store.User, step int64, h []string) (bool, error) {
	return s.next().ConfirmTOTP(ctx, u, step, h)
}
func (s *spread) AcceptTOTPStep(ctx context.Context, u store.User, step int64) (bool, error) {
	return s.next().AcceptTOTPStep(ctx, u, step)
}
func (s *spread) UseRecoveryCode(ctx context.Context, u store.User, h string) (bool, error) {
	return s.next().UseRecoveryCode(ctx, u, h)
}
func (s *spread) Remove(ctx context.Context, u store.User) (bool, error) {
	return s.next().Remove(ctx, u)
}
func (s *spread) List(ctx context.Context) ([]store.Enrolment, error) { return s.next().List(ctx) }
func (s *spread) RemoveTOTP(ctx context.Context, u store.User) (bool, error) {
	return s.next().RemoveTOTP(ctx, u)
}
func (s *spread) RecoveryLeft(ctx context.Context, u store.User) (int, error) {
	return s.next().RecoveryLeft(ctx, u)
}
func (s *spread) ReplaceRecoveryCodes(ctx context.Context, u store.User, h []string) error {
	return s.next().ReplaceRecoveryCodes(ctx, u, h)
}
func (s *spread) PasskeyHandle(ctx context.Context, u store.User, p []byte) ([]byte, error) {
	return s.next().PasskeyHandle(ctx, u, p)
}
func (s *spread) UserByHandle(ctx context.Context, h []byte) (store.User, error) {
	return s.next().UserByHandle(ctx, h)
}
func (s *spread) AddPasskey(ctx context.Context, u store.User, p store.Passkey) error {
	return s.next().AddPasskey(ctx, u, p)
}
func (s *spread) Passkeys(ctx context.Context, u store.User) ([]store.Passkey, error) {
	return s.next().Passkeys(ctx, u)
}
func (s *spread) UsePasskey(ctx context.Context, u store.User, id, rec []byte, n uint32, now time.Time) (bool, error) {
	return s.next().UsePasskey(ctx, u, id, rec, n, now)
}
func (s *spread) RemovePasskey(ctx context.Context, u store.User, id []byte) (bool, error) {
	return s.next().RemovePasskey(ctx, u, id)
}
func (s *spread) SpendChallenge(ctx context.Context, ch string, exp, now time.Time) (bool, error) {
	return s.next().SpendChallenge(ctx, ch, exp, now)
}
func (s *spread) Close() error {
	for _, st := range s.stores {
		_ = st.Close()
	}
	return nil
}

// postgres is a throwaway PostgreSQL cluster (Debian's postgresql
// package), no systemd: initdb and pg_ctl as the postgres user.
type postgres struct {
	dir  string
	port int
	as   []string
}

func (p *postgres) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres:testpass@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

func (p *postgres) psql(t testing.TB, sql string) {
	t.Helper()
	args := append(append([]string{}, p.as...), "psql", "-h", p.dir, "-p", strconv.Itoa(p.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
}

func pgBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best := ""
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil && d > best {
			best = d
		}
	}
	return best
}

func startPostgres(t testing.TB) *postgres {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		if os.Getenv("QLIKGATE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("PostgreSQL is not installed (apt-get install postgresql) and QLIKGATE_REQUIRE_INTEGRATION is set")
		}
		t.Skip("PostgreSQL is not installed (apt-get install postgresql)")
	}
	dir, err := os.MkdirTemp("", "qlikgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := &postgres{dir: dir, port: freePort(t)}
	if os.Geteuid() == 0 {
		// initdb refuses root; the postgres user must reach the directory.
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
		p.as = []string{"runuser", "-u", "postgres", "--"}
	}
	pw := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pw, []byte("testpass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		t.Helper()
		full := append(append(append([]string{}, p.as...), filepath.Join(bin, name)), args...)
		cmd := exec.Command(full[0], full[1:]...)
		cmd.Stdin = nil
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--pwfile="+pw, "--auth-local=trust",
		"--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	run("pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "postgres.log"), "-w", "-t", "30",
		"-o", fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200", dir, p.port), "start")
	t.Cleanup(func() { run("pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop") })
	return p
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// BenchmarkSecondFactor is the store and TOTP part of a second factor:
// read the enrolment, decrypt the secret, check the code, record the
// step (the budget for all of it, with the session rotation, is
// 2 ms of CPU).
func BenchmarkSecondFactor(b *testing.B) {
	s, err := OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "mfa.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	benchSecondFactor(b, s)
}

// BenchmarkSecondFactorPostgres is BenchmarkSecondFactor on a throwaway
// PostgreSQL cluster on this machine (a round trip per statement).
func BenchmarkSecondFactorPostgres(b *testing.B) {
	pg := startPostgres(b)
	pg.psql(b, "CREATE DATABASE bench")
	s, err := OpenPostgres(context.Background(), pg.dsn("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	benchSecondFactor(b, s)
}

func benchSecondFactor(b *testing.B, s *Store) {
	ctx := context.Background()
	sealer, err := mfa.NewSealer(strings.Repeat("s", 40), nil)
	if err != nil {
		b.Fatal(err)
	}
	u := store.User{Provider: "corp", UserID: "alice"}
	key, err := mfa.NewTOTPKey("qlikgate", u.UserID)
	if err != nil {
		b.Fatal(err)
	}
	sealed, _ := sealer.Seal(u.Key(), key.Secret())
	if err := s.BeginTOTP(ctx, u, sealed, time.Now()); err != nil {
		b.Fatal(err)
	}
	if ok, err := s.ConfirmTOTP(ctx, u, 1, nil); err != nil || !ok {
		b.Fatal(ok, err)
	}
	now := time.Unix(1_780_000_000, 0)
	b.ResetTimer()
	for i := range b.N {
		// Each iteration is one step later, as a real next sign-in is.
		at := now.Add(time.Duration(i) * mfa.Period * time.Second)
		b.StopTimer()
		code, _ := totp.GenerateCode(key.Secret(), at)
		b.StartTimer()
		t, err := s.TOTP(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		secret, err := sealer.Open(u.Key(), t.Sealed)
		if err != nil {
			b.Fatal(err)
		}
		step, ok := mfa.MatchTOTP(secret, code, at)
		if !ok {
			b.Fatal("code refused")
		}
		if ok, err := s.AcceptTOTPStep(ctx, u, step); err != nil || !ok {
			b.Fatal("step refused", err)
		}
	}
}
