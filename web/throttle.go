package web

import (
	"context"
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

// attemptStore keeps failed logins per key. The memory store serves one
// instance; a shared store lets several instances count together.
type attemptStore interface {
	get(ctx context.Context, key string) (attempts, error)
	// fail records a failure at now, keeping at most keep recent times.
	fail(ctx context.Context, key string, now time.Time, keep int) error
	reset(ctx context.Context, key string) error
}

// throttle decides whether a login attempt may go ahead. Two rules apply to
// the username and, with a higher limit, to the client address:
//
//   - at most limit failures in any period of length lockout: this is the
//     guarantee towards Active Directory (max_attempts below AD's lockout
//     threshold and lockout at least AD's observation window means qlikgate
//     can never make AD lock an account);
//   - past limit consecutive failures, each attempt waits 1 s, 2 s, 4 s …
//     after the previous one, up to lockout.
type throttle struct {
	cfg   SecurityConfig
	store attemptStore
}

// until returns when key may try again.
func (t *throttle) until(a attempts, limit int, now time.Time) time.Time {
	var u time.Time
	// Failures inside the window, newest last.
	in := a.recent
	for len(in) > 0 && !in[0].After(now.Add(-t.cfg.Lockout)) {
		in = in[1:]
	}
	if len(in) >= limit {
		u = in[len(in)-limit].Add(t.cfg.Lockout)
	}
	if a.consecutive >= limit && len(a.recent) > 0 {
		d := time.Second
		for i := limit; i < a.consecutive && d < t.cfg.Lockout; i++ {
			d *= 2
		}
		if b := a.recent[len(a.recent)-1].Add(min(d, t.cfg.Lockout)); b.After(u) {
			u = b
		}
	}
	return u
}

// wait returns how long the user or the address must still wait; 0 lets the
// attempt go ahead.
func (t *throttle) wait(ctx context.Context, userKey, ipKey string, now time.Time) (time.Duration, error) {
	var longest time.Duration
	for _, k := range []struct {
		key   string
		limit int
	}{{userKey, t.cfg.MaxAttempts}, {ipKey, t.cfg.IPMaxAttempts}} {
		a, err := t.store.get(ctx, k.key)
		if err != nil {
			return 0, err
		}
		if u := t.until(a, k.limit, now); u.After(now) {
			longest = max(longest, u.Sub(now))
		}
	}
	return longest, nil
}

// failed records a failed attempt for the user and the address.
func (t *throttle) failed(ctx context.Context, userKey, ipKey string, now time.Time) error {
	return errors.Join(
		t.store.fail(ctx, userKey, now, t.cfg.MaxAttempts),
		t.store.fail(ctx, ipKey, now, t.cfg.IPMaxAttempts))
}

// succeeded forgets the user's failures. The address keeps its count: an
// attacker's own successful logins must not reset it.
func (t *throttle) succeeded(ctx context.Context, userKey string) error {
	return t.store.reset(ctx, userKey)
}

// throttleKeys builds the keys for a provider, a typed username and an
// address. The username is folded so "ALICE" and " alice" count together.
func throttleKeys(provider, username, ip string) (userKey, ipKey string) {
	return "u:" + provider + ":" + strings.ToLower(strings.TrimSpace(username)), "ip:" + ip
}

// memoryAttempts is the in-process attempt store. Entries expire after a
// quiet lockout period, and the map is bounded so a flood of random
// usernames cannot exhaust memory.
type memoryAttempts struct {
	mu      sync.Mutex
	entries map[string]attempts
	quiet   time.Duration // a key without failures for this long is forgotten
	max     int
}

func newMemoryAttempts(quiet time.Duration, max int) *memoryAttempts {
	return &memoryAttempts{entries: map[string]attempts{}, quiet: quiet, max: max}
}

func (m *memoryAttempts) get(_ context.Context, key string) (attempts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.entries[key]
	a.recent = slices.Clone(a.recent)
	return a, nil
}

func (m *memoryAttempts) fail(_ context.Context, key string, now time.Time, keep int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.entries[key]
	if ok && len(a.recent) > 0 && now.Sub(a.recent[len(a.recent)-1]) > m.quiet {
		a = attempts{}
	}
	if !ok && len(m.entries) >= m.max {
		m.pruneLocked(now)
		if len(m.entries) >= m.max {
			// Still full of live entries: an attack in progress. Evict one
			// arbitrary entry rather than stop counting the newcomer.
			for k := range m.entries {
				delete(m.entries, k)
				break
			}
		}
	}
	a.recent = append(a.recent, now)
	if len(a.recent) > keep {
		a.recent = slices.Clone(a.recent[len(a.recent)-keep:])
	}
	a.consecutive++
	m.entries[key] = a
	return nil
}

func (m *memoryAttempts) reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

func (m *memoryAttempts) pruneLocked(now time.Time) {
	for k, a := range m.entries {
		if len(a.recent) == 0 || now.Sub(a.recent[len(a.recent)-1]) > m.quiet {
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
