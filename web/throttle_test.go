package web

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestThrottleRules(t *testing.T) {
	cfg := SecurityConfig{MaxAttempts: 3, IPMaxAttempts: 3, Lockout: 10 * time.Minute}
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	at := func(d ...time.Duration) []time.Time {
		var out []time.Time
		for _, x := range d {
			out = append(out, t0.Add(x))
		}
		return out
	}
	tests := []struct {
		name string
		a    attempts
		now  time.Duration
		want time.Duration // wait from now; 0 = may try
	}{
		{"no failures", attempts{}, 0, 0},
		{"below the limit", attempts{recent: at(0, time.Second), consecutive: 2}, 2 * time.Second, 0},
		{"limit reached within the window: wait for the oldest to leave it", attempts{recent: at(0, time.Second, 2*time.Second), consecutive: 3}, 3 * time.Second, 10*time.Minute - 3*time.Second},
		{"window passed: back-off of 1 s after the last failure applies, long over", attempts{recent: at(0, time.Second, 2*time.Second), consecutive: 3}, 11 * time.Minute, 0},
		{"back-off doubles with each consecutive failure", attempts{recent: at(0, 10*time.Minute+time.Second, 20*time.Minute+2*time.Second), consecutive: 6}, 20*time.Minute + 2*time.Second, 8 * time.Second},
		{"back-off is capped at lockout", attempts{recent: at(0, 20*time.Minute, 40*time.Minute), consecutive: 40}, 40 * time.Minute, 10 * time.Minute},
	}
	for _, tt := range tests {
		got := until(tt.a, rule{limit: 3, lockout: cfg.Lockout}, t0.Add(tt.now)).Sub(t0.Add(tt.now))
		if got < 0 {
			got = 0
		}
		if got != tt.want {
			t.Errorf("%s: wait %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestThrottleNeverExceedsLimitPerWindow is the Active Directory guarantee:
// an attacker retrying as soon as allowed gets at most max_attempts
// failures into any window of length lockout.
func TestThrottleNeverExceedsLimitPerWindow(t *testing.T) {
	cfg := SecurityConfig{MaxAttempts: 5, IPMaxAttempts: 1000, Lockout: 10 * time.Minute}
	failures := attackAsFastAsAllowed(t, &throttle{cfg: cfg, store: newMemoryAttempts(100)}, 60)
	// The back-off grows: the last waits are the full lockout.
	if gap := failures[59].Sub(failures[58]); gap < cfg.Lockout {
		t.Errorf("late gap %v, want the full lockout", gap)
	}
}

// attackAsFastAsAllowed fails n logins for one user, each the moment th
// allows it, checks that no window of length lockout holds more than
// max_attempts of them, and returns their times.
func attackAsFastAsAllowed(t *testing.T, th *throttle, n int) []time.Time {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var failures []time.Time
	for len(failures) < n {
		wait, res, err := th.reserve(ctx, now, limitKey{key: "u:x:alice", limit: th.cfg.MaxAttempts, perAccount: true},
			limitKey{key: "ip:1", limit: th.cfg.IPMaxAttempts})
		if err != nil {
			t.Fatal(err)
		}
		if wait > 0 {
			now = now.Add(wait) // retry the moment it is allowed
			continue
		}
		if res == nil {
			t.Fatal("no reservation for an attempt that was let through")
		}
		failures = append(failures, now) // the reservation stays: a failure
		now = now.Add(time.Millisecond)
	}
	for i := range failures {
		k := 0
		for _, f := range failures[i:] {
			if f.Sub(failures[i]) < th.cfg.Lockout {
				k++
			}
		}
		if k > th.cfg.MaxAttempts {
			t.Fatalf("%d failures within %v starting at failure %d", k, th.cfg.Lockout, i)
		}
	}
	return failures
}

func TestMemoryAttemptsBounded(t *testing.T) {
	m := newMemoryAttempts(10)
	now := time.Now()
	r := rule{limit: 5, lockout: time.Minute}
	ctx := context.Background()
	for i := range 100 {
		if _, err := m.reserve(ctx, string(rune('a'+i)), now, r); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.entries) > 10 {
		t.Fatalf("%d entries, want at most 10", len(m.entries))
	}
	// Quiet keys are forgotten.
	_, _ = m.reserve(ctx, "k", now, r)
	_, _ = m.reserve(ctx, "k", now.Add(2*time.Minute), r)
	if a, _ := m.get(ctx, "k"); a.consecutive != 1 {
		t.Errorf("after a quiet period consecutive = %d, want 1", a.consecutive)
	}
}

// TestMemoryAttemptsFloodKeepsTheTarget: a flood of one-off usernames that
// fills the store evicts those, not the counter of the account under
// attack, which still must wait.
func TestMemoryAttemptsFloodKeepsTheTarget(t *testing.T) {
	m := newMemoryAttempts(50)
	r := rule{limit: 5, lockout: 10 * time.Minute}
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		if u, _ := m.reserve(ctx, "u:corp:erin", now.Add(time.Duration(i)*time.Millisecond), r); !u.IsZero() {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	for i := range 10_000 {
		if _, err := m.reserve(ctx, fmt.Sprintf("u:corp:junk-%d", i), now.Add(time.Second), r); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.entries) > 50 {
		t.Fatalf("%d entries, want at most 50", len(m.entries))
	}
	if u, _ := m.reserve(ctx, "u:corp:erin", now.Add(2*time.Second), r); u.IsZero() {
		t.Fatal("after the flood erin's sixth attempt was let through")
	}
}

// TestReservationOutcomes: a failure keeps the attempt; a success forgets
// the username's and the account's failures but only takes the one attempt
// back from the address; an outage takes it back everywhere.
func TestReservationOutcomes(t *testing.T) {
	cfg := SecurityConfig{MaxAttempts: 3, IPMaxAttempts: 10, Lockout: 10 * time.Minute}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	keys := func() []limitKey {
		return []limitKey{{key: "u", limit: 3, perAccount: true}, {key: "ip", limit: 10}}
	}
	count := func(th *throttle, key string) int {
		a, _ := th.store.get(ctx, key)
		return a.consecutive
	}
	th := &throttle{cfg: cfg, store: newMemoryAttempts(100)}
	for i := range 2 { // two failures
		if _, _, err := th.reserve(ctx, t0.Add(time.Duration(i)*time.Second), keys()...); err != nil {
			t.Fatal(err)
		}
	}
	_, res, _ := th.reserve(ctx, t0.Add(2*time.Second), keys()...)
	if _, err := res.add(ctx, limitKey{key: "a", limit: 3, perAccount: true}); err != nil {
		t.Fatal(err)
	}
	if err := res.succeeded(ctx); err != nil {
		t.Fatal(err)
	}
	if u, ip, a := count(th, "u"), count(th, "ip"), count(th, "a"); u != 0 || ip != 2 || a != 0 {
		t.Errorf("after a success: user %d, address %d, account %d; want 0, 2, 0", u, ip, a)
	}
	_, res, _ = th.reserve(ctx, t0.Add(3*time.Second), keys()...)
	if err := res.release(ctx); err != nil {
		t.Fatal(err)
	}
	if u, ip := count(th, "u"), count(th, "ip"); u != 0 || ip != 2 {
		t.Errorf("after an outage: user %d, address %d; want 0, 2", u, ip)
	}
	// A key that must wait counts nothing on the others.
	for i := range 3 {
		_, _, _ = th.reserve(ctx, t0.Add(time.Duration(4+i)*time.Second), keys()...)
	}
	wait, res, err := th.reserve(ctx, t0.Add(8*time.Second), keys()...)
	if err != nil || wait <= 0 || res != nil {
		t.Fatalf("fourth failure in the window: wait %v, reservation %v, %v", wait, res, err)
	}
	if ip := count(th, "ip"); ip != 5 {
		t.Errorf("address count %d after a refused attempt, want 5", ip)
	}
}

func TestThrottledMessage(t *testing.T) {
	cat, err := loadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	en := cat.translator("en")
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond:  "Try again in 1 second.",
		1500 * time.Millisecond: "Try again in 2 seconds.",
		59 * time.Second:        "Try again in 59 seconds.",
		60 * time.Second:        "Try again in 1 minute.",
		61 * time.Second:        "Try again in 2 minutes.",
		10 * time.Minute:        "Try again in 10 minutes.",
	} {
		if got, err := en.text(throttledMessage(d)); err != nil || got != "Too many sign-in attempts. "+want {
			t.Errorf("%v: %q, %v", d, got, err)
		}
	}
}
