package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// SecurityConfig is the `security:` block.
type SecurityConfig struct {
	// MaxAttempts is how many failed logins a username may have within
	// the lockout period before it must wait; further failures wait longer
	// and longer. Throttled attempts never reach the directory: keep
	// MaxAttempts below Active Directory's lockout threshold and lockout at
	// least as long as its observation window, and nobody can lock an AD
	// account through qlikgate.
	MaxAttempts int `yaml:"max_attempts"`
	// IPMaxAttempts is the same for one client address. It is higher
	// because a whole office may share one address behind NAT.
	IPMaxAttempts int `yaml:"ip_max_attempts"`
	// Lockout is the period in which at most MaxAttempts failures per
	// username reach the directory, and the longest single wait.
	Lockout time.Duration `yaml:"lockout"`
	// FailureDelay is the least time a failed login takes. Failures also
	// take at least as long as a typical successful login, plus jitter, so
	// timing does not tell an unknown user from a wrong password.
	FailureDelay time.Duration `yaml:"failure_delay"`
}

// DefaultSecurity returns the defaults of the security block.
func DefaultSecurity() SecurityConfig {
	// 10 minutes is AD's default observation window on current Windows.
	return SecurityConfig{MaxAttempts: 5, IPMaxAttempts: 50, Lockout: 10 * time.Minute, FailureDelay: 250 * time.Millisecond}
}

// Validate checks the security block.
func (c SecurityConfig) Validate() error {
	var errs []error
	if c.MaxAttempts < 1 || c.MaxAttempts > 1000 {
		errs = append(errs, fmt.Errorf("max_attempts: %d must be between 1 and 1000", c.MaxAttempts))
	}
	if c.IPMaxAttempts < c.MaxAttempts {
		errs = append(errs, fmt.Errorf("ip_max_attempts: %d must be at least max_attempts (%d)", c.IPMaxAttempts, c.MaxAttempts))
	}
	if c.Lockout < time.Second || c.Lockout > 24*time.Hour {
		errs = append(errs, fmt.Errorf("lockout: %v must be between 1s and 24h", c.Lockout))
	}
	if c.FailureDelay < 0 || c.FailureDelay > 10*time.Second {
		errs = append(errs, fmt.Errorf("failure_delay: %v must be between 0 and 10s", c.FailureDelay))
	}
	return errors.Join(errs...)
}

// attempts is what is known of one key's failed logins.
type attempts struct {
	// recent are the latest failures, oldest first, at most as many as the
	// key's limit.
	recent []time.Time
	// consecutive counts failures since the last success or quiet period.
	consecutive int
}

// rule is the limit of one kind of key: at most limit attempts in any
// period of length lockout, then a growing back-off.
type rule struct {
	limit   int
	lockout time.Duration
}

// attemptStore keeps attempts per key. The memory store serves one
// instance; a shared store lets several instances count together. Every
// operation is atomic: the check and the count of reserve happen in one
// step, so parallel attempts cannot all pass the check before any is
// counted.
type attemptStore interface {
	// reserve counts an attempt of key at now, as a failure until it is
	// released, unless key must wait under r; then nothing is counted and
	// until says when key may try again (zero when the attempt was counted).
	// A key quiet for r.lockout starts afresh.
	reserve(ctx context.Context, key string, now time.Time, r rule) (until time.Time, err error)
	// release takes back one attempt that reserve counted at at.
	release(ctx context.Context, key string, at time.Time) error
	// reset forgets key.
	reset(ctx context.Context, key string) error
	get(ctx context.Context, key string) (attempts, error)
}

// throttle decides whether a login attempt may go ahead. Two rules apply to
// the username (and the directory account it resolves to) and, with a
// higher limit, to the client address:
//
//   - at most limit attempts that did not succeed in any period of length
//     lockout: this is the guarantee towards Active Directory (max_attempts
//     below AD's lockout threshold and lockout at least AD's observation
//     window means qlikgate can never make AD lock an account);
//   - past limit consecutive failures, each attempt waits 1 s, 2 s, 4 s …
//     after the previous one, up to lockout.
//
// An attempt is counted before the provider is asked (reserve) and taken
// back only when the answer shows that no wrong password reached the
// directory: a success, or a directory that could not be asked.
type throttle struct {
	cfg   SecurityConfig
	store attemptStore
}

// limitKey is one key an attempt counts against. perAccount keys (the
// username, the account) are forgotten at a success; the address keeps its
// count, so an attacker's own successful logins cannot reset it.
type limitKey struct {
	key        string
	limit      int
	perAccount bool
}

// until returns when a key with attempts a may try again under r.
func until(a attempts, r rule, now time.Time) time.Time {
	var u time.Time
	// Failures inside the window, newest last.
	in := a.recent
	for len(in) > 0 && !in[0].After(now.Add(-r.lockout)) {
		in = in[1:]
	}
	if len(in) >= r.limit {
		u = in[len(in)-r.limit].Add(r.lockout)
	}
	if a.consecutive >= r.limit && len(a.recent) > 0 {
		d := time.Second
		for i := r.limit; i < a.consecutive && d < r.lockout; i++ {
			d *= 2
		}
		if b := a.recent[len(a.recent)-1].Add(min(d, r.lockout)); b.After(u) {
			u = b
		}
	}
	return u
}

// reservation is one login attempt, counted against its keys until the
// outcome is known. Its methods are safe on a nil reservation (the store
// could not be reached: the attempt goes ahead uncounted).
type reservation struct {
	th   *throttle
	at   time.Time
	mu   sync.Mutex
	held []limitKey
}

// reserve counts an attempt at now against every key, or against none:
// when one key must wait, the keys already counted are released and the
// wait is returned.
func (t *throttle) reserve(ctx context.Context, now time.Time, keys ...limitKey) (time.Duration, *reservation, error) {
	r := &reservation{th: t, at: now}
	for _, k := range keys {
		wait, err := r.add(ctx, k)
		if err != nil || wait > 0 {
			return wait, nil, errors.Join(err, r.release(ctx))
		}
	}
	return 0, r, nil
}

// add counts the attempt against one more key (the account a provider
// found), or returns how long that key must wait.
func (r *reservation) add(ctx context.Context, k limitKey) (time.Duration, error) {
	if r == nil {
		return 0, nil
	}
	u, err := r.th.store.reserve(ctx, k.key, r.at, rule{limit: k.limit, lockout: r.th.cfg.Lockout})
	if err != nil {
		return 0, err
	}
	if u.After(r.at) {
		return u.Sub(r.at), nil
	}
	r.mu.Lock()
	r.held = append(r.held, k)
	r.mu.Unlock()
	return 0, nil
}

// release takes the attempt back from every key: no password was checked.
func (r *reservation) release(ctx context.Context) error {
	if r == nil {
		return nil
	}
	var errs []error
	for _, k := range r.take() {
		errs = append(errs, r.th.store.release(ctx, k.key, r.at))
	}
	return errors.Join(errs...)
}

// take returns the keys counted so far and forgets them, so that an
// outcome is applied once.
func (r *reservation) take() []limitKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	held := r.held
	r.held = nil
	return held
}

// succeeded forgets the failures of the username and the account and takes
// the attempt back from the address.
func (r *reservation) succeeded(ctx context.Context) error {
	if r == nil {
		return nil
	}
	var errs []error
	for _, k := range r.take() {
		if k.perAccount {
			errs = append(errs, r.th.store.reset(ctx, k.key))
		} else {
			errs = append(errs, r.th.store.release(ctx, k.key, r.at))
		}
	}
	return errors.Join(errs...)
}

// maxKeyName is the longest username kept as it is in a throttle key;
// longer ones are hashed, so a flood of megabyte "usernames" costs a
// bounded amount of memory per key.
const maxKeyName = 256

// throttleKeys builds the keys for a provider, the username the provider
// will look up and an address. The name is folded so "ALICE" and " alice"
// count together, whatever the provider's own case rule.
func throttleKeys(provider, name, ip string) (userKey, ipKey string) {
	return "u:" + provider + ":" + keyName(name), "ip:" + ip
}

// accountKey is the key of a directory account a provider found.
func accountKey(provider, account string) string {
	return "a:" + provider + ":" + keyName(account)
}

func keyName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > maxKeyName {
		sum := sha256.Sum256([]byte(s))
		s = "sha256:" + hex.EncodeToString(sum[:])
	}
	return s
}

// memoryAttempts is the in-process attempt store. Entries expire after a
// quiet lockout period, and the map is bounded so a flood of random
// usernames cannot exhaust memory.
type memoryAttempts struct {
	mu      sync.Mutex
	entries map[string]attempts
	max     int
}

func newMemoryAttempts(max int) *memoryAttempts {
	return &memoryAttempts{entries: map[string]attempts{}, max: max}
}

func (m *memoryAttempts) get(_ context.Context, key string) (attempts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.entries[key]
	a.recent = slices.Clone(a.recent)
	return a, nil
}

func (m *memoryAttempts) reserve(_ context.Context, key string, now time.Time, r rule) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.entries[key]
	if ok && len(a.recent) > 0 && now.Sub(a.recent[len(a.recent)-1]) > r.lockout {
		a = attempts{}
	}
	if u := until(a, r, now); u.After(now) {
		return u, nil
	}
	if !ok && len(m.entries) >= m.max {
		m.pruneLocked(now, r.lockout)
		if len(m.entries) >= m.max {
			// Still full of live entries: a flood of names in progress.
			// Evict the entry that counts least (fewest failures, then
			// the oldest), rather than stop counting the newcomer: a
			// flood of one-off names cannot push out the counter of the
			// account it is really after.
			m.evictLocked()
		}
	}
	a.recent = append(a.recent, now)
	if len(a.recent) > r.limit {
		a.recent = slices.Clone(a.recent[len(a.recent)-r.limit:])
	}
	a.consecutive++
	m.entries[key] = a
	return time.Time{}, nil
}

func (m *memoryAttempts) release(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.entries[key]
	if !ok {
		return nil
	}
	for i := len(a.recent) - 1; i >= 0; i-- {
		if a.recent[i].Equal(at) {
			a.recent = slices.Delete(slices.Clone(a.recent), i, i+1)
			a.consecutive = max(0, a.consecutive-1)
			break
		}
	}
	if len(a.recent) == 0 && a.consecutive == 0 {
		delete(m.entries, key)
	} else {
		m.entries[key] = a
	}
	return nil
}

func (m *memoryAttempts) reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

func (m *memoryAttempts) evictLocked() {
	var (
		victim string
		least  attempts
		found  bool
	)
	for k, a := range m.entries {
		if !found || a.consecutive < least.consecutive ||
			(a.consecutive == least.consecutive && lastAttempt(a).Before(lastAttempt(least))) {
			victim, least, found = k, a, true
		}
	}
	delete(m.entries, victim)
}

func lastAttempt(a attempts) time.Time {
	if len(a.recent) == 0 {
		return time.Time{}
	}
	return a.recent[len(a.recent)-1]
}

func (m *memoryAttempts) pruneLocked(now time.Time, quiet time.Duration) {
	for k, a := range m.entries {
		if len(a.recent) == 0 || now.Sub(a.recent[len(a.recent)-1]) > quiet {
			delete(m.entries, k)
		}
	}
}

// failureFloor makes failed logins take as long as successful ones: at
// least the configured delay, at least a running average of successful
// provider calls, plus up to 50 ms of jitter.
type failureFloor struct {
	min time.Duration
	mu  sync.Mutex
	avg map[string]time.Duration // per provider
}

func (f *failureFloor) observeSuccess(provider string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.avg == nil {
		f.avg = map[string]time.Duration{}
	}
	if a, ok := f.avg[provider]; ok {
		f.avg[provider] = (a*7 + d) / 8
	} else {
		f.avg[provider] = d
	}
}

// wait sleeps until a failure that started at start has taken its floor.
func (f *failureFloor) wait(ctx context.Context, provider string, start time.Time) {
	f.mu.Lock()
	floor := max(f.min, f.avg[provider])
	f.mu.Unlock()
	floor += time.Duration(rand.Int64N(int64(50 * time.Millisecond)))
	t := time.NewTimer(time.Until(start.Add(floor)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
