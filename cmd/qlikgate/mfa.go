package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store"
	"github.com/qlikgate/qlikgate/mfa/store/sqlstore"
	"github.com/qlikgate/qlikgate/web"
)

// mfaOpenTimeout bounds opening the store and applying migrations.
const mfaOpenTimeout = 30 * time.Second

// openMFAStore opens the enrolment store of the mfa block.
func openMFAStore(ctx context.Context, c mfa.Config) (store.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, mfaOpenTimeout)
	defer cancel()
	switch c.Store {
	case mfa.StorePostgres:
		s, err := sqlstore.OpenPostgres(ctx, c.PostgresDSN)
		if err != nil {
			return nil, fmt.Errorf("mfa.postgres_dsn: %w", err)
		}
		return s, nil
	default:
		s, err := sqlstore.OpenSQLite(ctx, c.SQLiteFile)
		if err != nil {
			return nil, fmt.Errorf("mfa.sqlite_file: %s: %w", c.SQLiteFile, err)
		}
		return s, nil
	}
}

// openMFA opens the store and the sealer when a provider uses a second
// factor; otherwise nothing is opened (no file appears for nobody).
func openMFA(ctx context.Context, cfg *config.Config) (web.MFAOptions, func(), error) {
	if !cfg.MFAUsed() {
		return web.MFAOptions{}, func() {}, nil
	}
	sealer, err := mfa.NewSealer(cfg.MFA.Secret, cfg.MFA.PreviousSecrets)
	if err != nil {
		return web.MFAOptions{}, nil, fmt.Errorf("mfa.%w", err)
	}
	st, err := openMFAStore(ctx, cfg.MFA)
	if err != nil {
		return web.MFAOptions{}, nil, err
	}
	return web.MFAOptions{Store: st, Sealer: sealer, RPID: cfg.MFA.RPID}, func() { _ = st.Close() }, nil
}

// runMFA is the help desk's `qlikgate mfa list` and `qlikgate mfa reset
// PROVIDER/USER` (or USER when there is one provider with MFA).
func runMFA(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mfa", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qlikgate mfa -config FILE list\n       qlikgate mfa -config FILE reset [PROVIDER/]USER")
	}
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if fs.NArg() == 0 || (fs.Arg(0) == "list" && fs.NArg() != 1) || (fs.Arg(0) == "reset" && fs.NArg() != 2) || (fs.Arg(0) != "list" && fs.Arg(0) != "reset") {
		fs.Usage()
		return exitConfig
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigError(stderr, *path, err)
		return exitConfig
	}
	st, err := openMFAStore(ctx, cfg.MFA)
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate mfa: %v\n", err)
		return exitFail
	}
	defer func() { _ = st.Close() }()
	if fs.Arg(0) == "list" {
		return mfaList(ctx, st, stdout, stderr)
	}
	u, err := mfaTarget(cfg, fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate mfa reset: %v\n", err)
		return exitConfig
	}
	removed, err := st.Remove(ctx, u)
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate mfa reset: %v\n", err)
		return exitFail
	}
	if !removed {
		fmt.Fprintf(stderr, "qlikgate mfa reset: %s has no enrolment (user ids are as the directory gives them: see qlikgate mfa list)\n", u.Key())
		return exitFail
	}
	cfg.Log.Logger(stderr).Info("second factor reset by the help desk", audit.Key, audit.MFAReset, slog.String("provider", u.Provider),
		slog.String("user", u.UserID), slog.String("by", "helpdesk"))
	fmt.Fprintf(stdout, "reset %s: the next sign-in enrols again (mode: required) or needs no code (mode: optional)\n", u.Key())
	return exitOK
}

func mfaList(ctx context.Context, st store.Store, stdout, stderr io.Writer) int {
	list, err := st.List(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate mfa list: %v\n", err)
		return exitFail
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tUSER\tSTATE\tPASSKEYS\tRECOVERY CODES LEFT\tSINCE")
	for _, e := range list {
		// enrolled: an authenticator app; pending: an app not yet
		// confirmed (and no passkey); passkeys: passkeys only.
		state := "enrolled"
		switch {
		case !e.Confirmed && e.Passkeys > 0:
			state = "passkeys"
		case !e.Confirmed:
			state = "pending"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", e.User.Provider, e.User.UserID, state, e.Passkeys, e.RecoveryLeft, e.Created.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return exitFail
	}
	return exitOK
}

// mfaTarget reads PROVIDER/USER, or USER when one provider uses MFA.
func mfaTarget(cfg *config.Config, arg string) (store.User, error) {
	var using []string
	for _, p := range cfg.Providers {
		if p.MFA.Enabled() {
			using = append(using, p.Common.ID)
		}
	}
	if prov, user, ok := strings.Cut(arg, "/"); ok {
		for _, id := range using {
			if id == prov && user != "" {
				return store.User{Provider: prov, UserID: user}, nil
			}
		}
		return store.User{}, fmt.Errorf("%q: no provider %q with mfa.mode optional or required (those are: %s)", arg, prov, strings.Join(using, ", "))
	}
	if len(using) != 1 {
		return store.User{}, errors.New("name the provider too, as PROVIDER/USER: more than one provider (or none) uses MFA")
	}
	return store.User{Provider: using[0], UserID: arg}, nil
}
