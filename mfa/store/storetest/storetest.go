// Package storetest is the conformance suite every store.Store
// implementation must pass: the same tests, run against SQLite and
// PostgreSQL, including the concurrent uses that decide whether a code can
// be used twice.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/mfa/store"
)

// Run runs the suite; open returns a new, empty store each time (closed by
// the suite).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"EnrolmentLifecycle", enrolmentLifecycle},
		{"BeginReplacesOnlyUnconfirmed", beginReplacesOnlyUnconfirmed},
		{"StepsOnlyMoveForward", stepsOnlyMoveForward},
		{"UnconfirmedIsNoFactor", unconfirmedIsNoFactor},
		{"RecoveryCodesWorkOnce", recoveryCodesWorkOnce},
		{"ConcurrentSameStepAcceptedOnce", concurrentSameStep},
		{"ConcurrentRecoveryCodeUsedOnce", concurrentRecovery},
		{"UsersAreSeparate", usersAreSeparate},
		{"RemoveAndList", removeAndList},
		{"PasskeyLifecycle", passkeyLifecycle},
		{"PasskeyCounterOnlyMovesForward", passkeyCounter},
		{"PasskeyHandleIsStoredOnce", passkeyHandleOnce},
		{"ConcurrentChallengeSpentOnce", concurrentChallenge},
		{"RemoveTOTPKeepsPasskeys", removeTOTPKeepsPasskeys},
		{"ResetRemovesPasskeys", resetRemovesPasskeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

var (
	alice = store.User{Provider: "corp", UserID: "alice"}
	bob   = store.User{Provider: "corp", UserID: "bob"}
	t0    = time.Unix(1_780_000_000, 0)
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func want(t *testing.T, what string, got, wantv bool, err error) {
	t.Helper()
	must(t, err)
	if got != wantv {
		t.Fatalf("%s: got %v, want %v", what, got, wantv)
	}
}

func enrol(t *testing.T, s store.Store, u store.User, step int64, hashes ...string) {
	t.Helper()
	must(t, s.BeginTOTP(context.Background(), u, "sealed-"+u.UserID, t0))
	ok, err := s.ConfirmTOTP(context.Background(), u, step, hashes)
	want(t, "confirm", ok, true, err)
}

func enrolmentLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.TOTP(ctx, alice); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TOTP of an unknown user: %v, want ErrNotFound", err)
	}
	must(t, s.BeginTOTP(ctx, alice, "sealed-1", t0))
	got, err := s.TOTP(ctx, alice)
	must(t, err)
	if got.Sealed != "sealed-1" || got.Confirmed || got.LastStep != 0 || !got.Created.Equal(t0) {
		t.Fatalf("after BeginTOTP: %+v", got)
	}
	ok, err := s.ConfirmTOTP(ctx, alice, 100, []string{"h1", "h2"})
	want(t, "confirm", ok, true, err)
	ok, err = s.ConfirmTOTP(ctx, alice, 101, nil)
	want(t, "confirming twice", ok, false, err)
	got, err = s.TOTP(ctx, alice)
	must(t, err)
	if !got.Confirmed || got.LastStep != 100 {
		t.Fatalf("after ConfirmTOTP: %+v", got)
	}
}

func beginReplacesOnlyUnconfirmed(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.BeginTOTP(ctx, alice, "first", t0))
	must(t, s.BeginTOTP(ctx, alice, "second", t0.Add(time.Minute)))
	got, err := s.TOTP(ctx, alice)
	must(t, err)
	if got.Sealed != "second" {
		t.Fatalf("an unconfirmed secret was not replaced: %+v", got)
	}
	ok, err := s.ConfirmTOTP(ctx, alice, 5, nil)
	want(t, "confirm", ok, true, err)
	if err := s.BeginTOTP(ctx, alice, "third", t0); !errors.Is(err, store.ErrEnrolled) {
		t.Fatalf("BeginTOTP over a confirmed enrolment: %v, want ErrEnrolled", err)
	}
	got, err = s.TOTP(ctx, alice)
	must(t, err)
	if got.Sealed != "second" || !got.Confirmed {
		t.Fatalf("a confirmed secret was replaced: %+v", got)
	}
}

func stepsOnlyMoveForward(t *testing.T, s store.Store) {
	ctx := context.Background()
	enrol(t, s, alice, 100)
	for _, tc := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {100, false}, {103, true}, {102, false}} {
		ok, err := s.AcceptTOTPStep(ctx, alice, tc.step)
		want(t, fmt.Sprintf("step %d", tc.step), ok, tc.ok, err)
	}
}

func unconfirmedIsNoFactor(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.BeginTOTP(ctx, alice, "x", t0))
	ok, err := s.AcceptTOTPStep(ctx, alice, 10)
	want(t, "a step of an unconfirmed enrolment", ok, false, err)
	ok, err = s.AcceptTOTPStep(ctx, bob, 10)
	want(t, "a step of no enrolment", ok, false, err)
}

func recoveryCodesWorkOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	enrol(t, s, alice, 1, "h1", "h2")
	ok, err := s.UseRecoveryCode(ctx, alice, "h1")
	want(t, "first use", ok, true, err)
	ok, err = s.UseRecoveryCode(ctx, alice, "h1")
	want(t, "second use", ok, false, err)
	ok, err = s.UseRecoveryCode(ctx, alice, "nope")
	want(t, "unknown code", ok, false, err)
	// Confirming a new enrolment replaces the old codes.
	_, err = s.Remove(ctx, alice)
	must(t, err)
	enrol(t, s, alice, 1, "h3")
	ok, err = s.UseRecoveryCode(ctx, alice, "h2")
	want(t, "a code of the removed enrolment", ok, false, err)
	ok, err = s.UseRecoveryCode(ctx, alice, "h3")
	want(t, "a new code", ok, true, err)
}

// race runs fn from n goroutines at once and counts the trues.
func race(t *testing.T, n int, fn func() (bool, error)) int64 {
	t.Helper()
	var wins atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := fn()
			if err != nil {
				errs <- err
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return wins.Load()
}

func concurrentSameStep(t *testing.T, s store.Store) {
	enrol(t, s, alice, 1)
	for step := int64(2); step < 6; step++ {
		if n := race(t, 16, func() (bool, error) { return s.AcceptTOTPStep(context.Background(), alice, step) }); n != 1 {
			t.Fatalf("step %d accepted %d times by 16 concurrent requests, want once", step, n)
		}
	}
}

func concurrentRecovery(t *testing.T, s store.Store) {
	enrol(t, s, alice, 1, "h1")
	if n := race(t, 16, func() (bool, error) { return s.UseRecoveryCode(context.Background(), alice, "h1") }); n != 1 {
		t.Fatalf("a recovery code was used %d times by 16 concurrent requests, want once", n)
	}
}

func usersAreSeparate(t *testing.T, s store.Store) {
	ctx := context.Background()
	enrol(t, s, alice, 10, "h")
	enrol(t, s, bob, 20, "h")
	ok, err := s.AcceptTOTPStep(ctx, bob, 11)
	want(t, "bob's step below his last", ok, false, err)
	ok, err = s.UseRecoveryCode(ctx, alice, "h")
	want(t, "alice's code", ok, true, err)
	ok, err = s.UseRecoveryCode(ctx, bob, "h")
	want(t, "bob's code after alice used hers", ok, true, err)
	other := store.User{Provider: "other", UserID: "alice"}
	if _, err := s.TOTP(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the same user id of another provider: %v, want ErrNotFound", err)
	}
}

func removeAndList(t *testing.T, s store.Store) {
	ctx := context.Background()
	enrol(t, s, bob, 1, "a", "b", "c")
	enrol(t, s, alice, 1, "a")
	must(t, s.BeginTOTP(ctx, store.User{Provider: "aaa", UserID: "carol"}, "x", t0))
	_, err := s.UseRecoveryCode(ctx, bob, "a")
	must(t, err)
	list, err := s.List(ctx)
	must(t, err)
	got := fmt.Sprint(list)
	wantList := fmt.Sprint([]store.Enrolment{
		{User: store.User{Provider: "aaa", UserID: "carol"}, Created: t0},
		{User: alice, Confirmed: true, Created: t0, RecoveryLeft: 1},
		{User: bob, Confirmed: true, Created: t0, RecoveryLeft: 2},
	})
	if got != wantList {
		t.Fatalf("List:\n got %s\nwant %s", got, wantList)
	}
	ok, err := s.Remove(ctx, bob)
	want(t, "remove bob", ok, true, err)
	ok, err = s.Remove(ctx, bob)
	want(t, "remove bob again", ok, false, err)
	if _, err := s.TOTP(ctx, bob); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after Remove: %v", err)
	}
	ok, err = s.UseRecoveryCode(ctx, bob, "b")
	want(t, "a recovery code after Remove", ok, false, err)
}
