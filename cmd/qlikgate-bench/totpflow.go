package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/sync/errgroup"

	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/mfa/store"
	"github.com/qlikgate/qlikgate/mfa/store/sqlstore"
)

// The totp flow: a full static login whose provider requires a second
// factor (mfa.mode: required), so each iteration is password → /mfa → code
// → hand-off → hub. The accounts are enrolled in the store before
// qlikgate starts.
const (
	flowTOTP          = "totp"
	totpProviderID    = "local-mfa"
	totpDirectory     = "MFA"
	totpSeedWorkers   = 8
	totpMaxAccounts   = 100000
	totpAccountPrefix = "tu"
)

// validateTOTP checks the totp flow's options.
func (o options) validateTOTP() []error {
	var errs []error
	if o.mfaStore != mfa.StoreSQLite && o.mfaStore != mfa.StorePostgres {
		errs = append(errs, fmt.Errorf("-mfa-store: %q is not sqlite or postgres", o.mfaStore))
	}
	if o.totpAccounts < o.users || o.totpAccounts > totpMaxAccounts {
		errs = append(errs, fmt.Errorf("-totp-accounts: %d must be between -users (%d) and %d", o.totpAccounts, o.users, totpMaxAccounts))
	}
	return errs
}

// totpAccount is one enrolled account and the last TOTP step its code was
// used at.
type totpAccount struct {
	name, secret string
	lastStep     int64
}

// totpSetup is the enrolment store and the accounts enrolled in it.
type totpSetup struct {
	kind, sqliteFile, dsn, secret string
	accounts                      []*totpAccount
	cluster                       *pgCluster // postgres: the throwaway cluster
	users                         int        // virtual users; account i belongs to user i mod users
	progress                      func(string, ...any)
	seeded                        int // postgres: connections the enrolment made
}

// prepareTOTP starts the store (a SQLite file in dir, or a throwaway
// PostgreSQL cluster), and enrols o.totpAccounts accounts through the
// store's own API, each secret sealed as qlikgate seals it.
func prepareTOTP(ctx context.Context, o options, dir string, progress func(string, ...any)) (_ *totpSetup, err error) {
	ts := &totpSetup{kind: o.mfaStore, secret: rand.Text() + rand.Text(), users: o.users, progress: progress}
	defer func() {
		if err != nil {
			ts.close()
		}
	}()
	var st *sqlstore.Store
	switch ts.kind {
	case mfa.StorePostgres:
		progress("starting a throwaway PostgreSQL cluster")
		if ts.cluster, err = startPGCluster(ctx, dir); err != nil {
			return nil, err
		}
		ts.dsn = ts.cluster.dsn
		st, err = sqlstore.OpenPostgres(ctx, ts.dsn)
	default:
		ts.sqliteFile = filepath.Join(dir, "mfa.db")
		st, err = sqlstore.OpenSQLite(ctx, ts.sqliteFile)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the %s enrolment store: %w", ts.kind, err)
	}
	defer func() { _ = st.Close() }()
	sealer, err := mfa.NewSealer(ts.secret, nil)
	if err != nil {
		return nil, err
	}
	progress("enrolling %d TOTP accounts in %s", o.totpAccounts, ts.kind)
	ts.accounts = make([]*totpAccount, o.totpAccounts)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(totpSeedWorkers)
	now := time.Now()
	for i := range ts.accounts {
		a := &totpAccount{name: fmt.Sprintf("%s%05d", totpAccountPrefix, i+1)}
		ts.accounts[i] = a
		g.Go(func() error {
			key, err := mfa.NewTOTPKey("qlikgate-bench", a.name)
			if err != nil {
				return err
			}
			a.secret = key.Secret()
			u := store.User{Provider: totpProviderID, UserID: a.name}
			sealed, err := sealer.Seal(u.Key(), a.secret)
			if err != nil {
				return err
			}
			if err := st.BeginTOTP(gctx, u, sealed, now); err != nil {
				return fmt.Errorf("enrolling %s: %w", a.name, err)
			}
			// Step 1 is long past: every current code is later.
			if ok, err := st.ConfirmTOTP(gctx, u, 1, nil); err != nil || !ok {
				return fmt.Errorf("confirming %s: %v (confirmed %t)", a.name, err, ok)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if ts.cluster != nil {
		_ = st.Close()
		if ts.seeded, err = ts.cluster.sessions(ctx); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func (ts *totpSetup) close() {
	if ts.cluster != nil {
		if n, err := ts.cluster.sessions(context.Background()); err == nil {
			ts.progress("PostgreSQL: qlikgate opened %d connections to the store", n-ts.seeded)
		}
		ts.cluster.stop()
	}
}

func (ts *totpSetup) describe() string {
	s := fmt.Sprintf("%d TOTP accounts enrolled before the run, provider %s (static, mfa.mode required); ", len(ts.accounts), totpProviderID)
	if ts.kind == mfa.StorePostgres {
		return s + "store postgres: " + ts.cluster.describe()
	}
	return s + "store sqlite: a file in the run's directory (WAL)"
}

// providerYAML is the static provider whose users must pass a code.
func (ts *totpSetup) providerYAML(hash string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `  - id: %s
    kind: static
    label: 'Local account with a code'
    directory: %s
    mfa:
      mode: required
    static:
      users:
`, totpProviderID, totpDirectory)
	for _, a := range ts.accounts {
		fmt.Fprintf(&b, "        - username: '%s'\n          password_hash: '%s'\n", a.name, hash)
	}
	return b.String()
}

// mfaYAML is the top-level mfa block.
func (ts *totpSetup) mfaYAML() string {
	if ts.kind == mfa.StorePostgres {
		return fmt.Sprintf("mfa:\n  store: postgres\n  postgres_dsn: '%s'\n  secret: '%s'\n", ts.dsn, ts.secret)
	}
	return fmt.Sprintf("mfa:\n  store: sqlite\n  sqlite_file: '%s'\n  secret: '%s'\n", ts.sqliteFile, ts.secret)
}

// errAccountsUsedUp is an iteration that found every account of its
// virtual user used in the current step: the run needs more accounts.
var errAccountsUsedUp = errors.New("every TOTP account of this virtual user was used in this 30 s step: raise -totp-accounts")

// rotation hands out one virtual user's accounts: user i owns accounts
// i, i+U, i+2U… A code is accepted once per account and step (the store
// records the step; a later code must have a later step), and qlikgate
// runs on this machine's clock, so an account used at step s is usable
// again at step s+1. The rotation is the virtual user's own, used by one
// goroutine at a time; the mutex keeps it safe anyway.
type rotation struct {
	mu   sync.Mutex
	mine []*totpAccount
	next int
}

// take returns an account not yet used in step, and marks it used.
func (r *rotation) take(step int64) (*totpAccount, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range r.mine {
		a := r.mine[r.next]
		r.next = (r.next + 1) % len(r.mine)
		if a.lastStep < step {
			a.lastStep = step
			return a, nil
		}
	}
	return nil, errAccountsUsedUp
}

var totpOpts = totp.ValidateOpts{Period: mfa.Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// codeFormRe finds the second step's code form (templates/mfa.html).
var codeFormRe = regexp.MustCompile(`<form method="post" action="([^"]*mfa)" class="login" novalidate>\s*<input type="hidden" name="csrf" value="([^"]+)">\s*<input type="hidden" name="flow" value="([^"]*)">\s*<label for="code">`)

// totpFlow: each iteration, a new browser session signs in with the next
// free account of its virtual user: the hub sends it to the login page,
// it posts the password, qlikgate sends it to /mfa, it posts the current
// code (pquerna/otp, from the secret the tool enrolled) and follows the
// hand-off to the hub, which must show MFA\account.
func totpFlow(e entrance, ts *totpSetup) flowSpec {
	return flowSpec{name: flowTOTP, prepare: func(ctx context.Context, i int) (*virtualUser, error) {
		b, err := newBrowser(e.moduleURL)
		if err != nil {
			return nil, err
		}
		r := &rotation{}
		for j := i; j < len(ts.accounts); j += ts.users {
			r.mine = append(r.mine, ts.accounts[j])
		}
		return &virtualUser{close: b.close, iterate: func(ctx context.Context) (time.Duration, error) {
			b.forget()
			now := time.Now()
			a, err := r.take(now.Unix() / mfa.Period)
			if err != nil {
				return 0, err
			}
			s := signIn{provider: totpProviderID, directory: totpDirectory, account: account{name: a.name, password: benchPassword}}
			return totpLogin(ctx, b, e, s, a.secret, now)
		}}, nil
	}}
}

// totpLogin is fullLogin with the second step between the password and
// the hub.
func totpLogin(ctx context.Context, b *browser, e entrance, s signIn, secret string, now time.Time) (time.Duration, error) {
	page, module, err := b.get(ctx, e.start)
	if err != nil {
		return module, err
	}
	if page.Status != http.StatusOK || !page.IsLoginPage() {
		return module, fmt.Errorf("opening %s: want the login page, got %d at %s", e.start, page.Status, page.URL.Path)
	}
	form, err := page.LoginForm(s.name, s.password)
	if err != nil {
		return module, err
	}
	form.Set("provider", s.provider)
	action, err := formAction(page)
	if err != nil {
		return module, err
	}
	second, m, err := b.submit(ctx, action, form)
	module += m
	if err != nil {
		return module, err
	}
	f := codeFormRe.FindStringSubmatch(second.Body)
	if second.Status != http.StatusOK || f == nil {
		return module, fmt.Errorf("after the password: want the code form, got %d at %s", second.Status, second.URL.Path)
	}
	code, err := totp.GenerateCodeCustom(secret, now, totpOpts)
	if err != nil {
		return module, err
	}
	verify, err := second.URL.Parse(f[1])
	if err != nil {
		return module, err
	}
	form = map[string][]string{"csrf": {f[2]}, "flow": {f[3]}, "code": {code}}
	hub, m, err := b.submit(ctx, verify.String(), form)
	module += m
	if err != nil {
		return module, err
	}
	return module, checkAtQlik(hub, e, s)
}
