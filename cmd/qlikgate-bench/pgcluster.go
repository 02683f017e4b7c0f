package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pgCluster is a throwaway PostgreSQL cluster for the totp flow's store:
// initdb and pg_ctl from Debian's postgresql package, no systemd, as the
// mfa store's tests start theirs. fsync and synchronous_commit are off,
// as in those tests: the run measures qlikgate, not the disk.
type pgCluster struct {
	dir, bin, version, dsn, port string
	as                           []string // runuser prefix when the tool runs as root
}

// pgBinDir is the newest /usr/lib/postgresql/*/bin with initdb.
func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best := ""
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil && d > best {
			best = d
		}
	}
	return best
}

// errNoPostgres is -mfa-store postgres without PostgreSQL installed.
var errNoPostgres = errors.New("-mfa-store postgres: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; apt-get install postgresql), or use -mfa-store sqlite")

func startPGCluster(ctx context.Context, parent string) (*pgCluster, error) {
	bin := pgBinDir()
	if bin == "" {
		return nil, errNoPostgres
	}
	dir, err := os.MkdirTemp(parent, "pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{dir: dir, bin: bin, version: filepath.Base(filepath.Dir(bin))}
	if os.Geteuid() == 0 {
		// initdb refuses root; the postgres user must reach the directory.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chmod(parent, 0o755); err != nil {
			return nil, err
		}
		if out, err := exec.CommandContext(ctx, "chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown %s: %v: %s", dir, err, out)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	port, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, p, _ := strings.Cut(port, ":")
	password := rand.Text()
	pw := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := c.run(ctx, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--pwfile="+pw, "--auth-local=trust",
		"--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"); err != nil {
		return nil, err
	}
	_ = os.Remove(pw)
	if err := c.run(ctx, "pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "postgres.log"), "-w", "-t", "30",
		"-o", fmt.Sprintf("-k %s -p %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200", dir, p), "start"); err != nil {
		return nil, err
	}
	c.port = p
	c.dsn = fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%s/postgres?sslmode=disable", password, p)
	return c, nil
}

func (c *pgCluster) run(ctx context.Context, name string, args ...string) error {
	full := append(append(append([]string{}, c.as...), filepath.Join(c.bin, name)), args...)
	if out, err := c.command(ctx, full).CombinedOutput(); err != nil {
		return fmt.Errorf("PostgreSQL %s: %v\n%s", name, err, out)
	}
	return nil
}

// command runs in the cluster's directory: run as postgres, a program
// started in a directory postgres may not enter (a checkout under a 0700
// temporary directory, as CI's) warns on stderr first.
func (c *pgCluster) command(ctx context.Context, full []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Dir = c.dir
	return cmd
}

// sessions is how many connections the database has had since the
// cluster started (pg_stat_database.sessions): a pool that keeps its
// connections opens a few, one that churns opens one per few logins.
func (c *pgCluster) sessions(ctx context.Context) (int, error) {
	full := append(append([]string{}, c.as...), filepath.Join(c.bin, "psql"), "-h", c.dir, "-p", c.port, "-U", "postgres", "-qAtc",
		"SELECT sessions FROM pg_stat_database WHERE datname = 'postgres'")
	cmd := c.command(ctx, full)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output() // the number alone: warnings go to stderr
	if err != nil {
		return 0, fmt.Errorf("psql: %v: %s", err, stderr.String())
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("pg_stat_database.sessions: %q: %w", out, err)
	}
	return n, nil
}

func (c *pgCluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
}

func (c *pgCluster) describe() string {
	return "PostgreSQL " + c.version + ", a throwaway cluster on this machine over TCP loopback (fsync and synchronous_commit off)"
}
