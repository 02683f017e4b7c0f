package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/mfa/store"
)

func passkey(id, name string, count uint32) store.Passkey {
	return store.Passkey{ID: []byte(id), Name: name, Record: []byte(`{"id":"` + id + `"}`), SignCount: count, Created: t0}
}

func passkeyLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.UserByHandle(ctx, []byte("nobody")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByHandle of an unknown handle: %v, want ErrNotFound", err)
	}
	got, err := s.Passkeys(ctx, alice)
	must(t, err)
	if got == nil || len(got) != 0 {
		t.Fatalf("Passkeys of a user without any: %#v, want an empty slice", got)
	}
	h, err := s.PasskeyHandle(ctx, alice, []byte("handle-a"))
	must(t, err)
	if u, err := s.UserByHandle(ctx, h); err != nil || u != alice {
		t.Fatalf("UserByHandle: %v %v, want alice", u, err)
	}
	must(t, s.AddPasskey(ctx, alice, passkey("k1", "YubiKey", 0)))
	later := passkey("k2", "Laptop", 5)
	later.Created = t0.Add(time.Minute)
	must(t, s.AddPasskey(ctx, alice, later))
	if err := s.AddPasskey(ctx, bob, passkey("k1", "stolen", 0)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddPasskey of a registered id for another user: %v, want ErrExists", err)
	}
	if err := s.AddPasskey(ctx, alice, passkey("k1", "again", 0)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddPasskey of a registered id again: %v, want ErrExists", err)
	}
	got, err = s.Passkeys(ctx, alice)
	must(t, err)
	if len(got) != 2 || string(got[0].ID) != "k1" || got[0].Name != "YubiKey" || string(got[0].Record) != `{"id":"k1"}` ||
		!got[0].Created.Equal(t0) || !got[0].LastUsed.IsZero() || string(got[1].ID) != "k2" || got[1].SignCount != 5 {
		t.Fatalf("Passkeys: %+v", got)
	}
	if other, err := s.Passkeys(ctx, bob); err != nil || len(other) != 0 {
		t.Fatalf("bob's passkeys: %+v %v", other, err)
	}
	used := t0.Add(time.Hour)
	ok, err := s.UsePasskey(ctx, alice, []byte("k2"), []byte(`{"n":6}`), 6, used)
	want(t, "use k2 with a higher counter", ok, true, err)
	got, err = s.Passkeys(ctx, alice)
	must(t, err)
	if got[1].SignCount != 6 || string(got[1].Record) != `{"n":6}` || !got[1].LastUsed.Equal(used) {
		t.Fatalf("after UsePasskey: %+v", got[1])
	}
	ok, err = s.UsePasskey(ctx, bob, []byte("k2"), []byte(`{}`), 7, used)
	want(t, "another user's passkey", ok, false, err)
	ok, err = s.RemovePasskey(ctx, bob, []byte("k1"))
	want(t, "bob removes alice's passkey", ok, false, err)
	ok, err = s.RemovePasskey(ctx, alice, []byte("k1"))
	want(t, "remove k1", ok, true, err)
	ok, err = s.RemovePasskey(ctx, alice, []byte("k1"))
	want(t, "remove k1 again", ok, false, err)
	list, err := s.List(ctx)
	must(t, err)
	wantList := fmt.Sprint([]store.Enrolment{{User: alice, Created: t0.Add(time.Minute), Passkeys: 1}})
	if fmt.Sprint(list) != wantList {
		t.Fatalf("List of a passkey-only user:\n got %v\nwant %s", list, wantList)
	}
}

func passkeyCounter(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.AddPasskey(ctx, alice, passkey("c", "counting", 3)))
	must(t, s.AddPasskey(ctx, alice, passkey("z", "no counter", 0)))
	for _, tc := range []struct {
		id    string
		count uint32
		want  bool
	}{
		{"c", 3, false}, // the same counter again: a replay or a clone
		{"c", 2, false}, // backwards
		{"c", 4, true},
		{"c", 0, false}, // a counter that stopped
		{"z", 0, true},  // an authenticator without a counter (synced passkeys)
		{"z", 0, true},
		{"z", 1, true}, // one that starts counting
		{"z", 0, false},
	} {
		ok, err := s.UsePasskey(ctx, alice, []byte(tc.id), []byte("{}"), tc.count, t0)
		want(t, fmt.Sprintf("UsePasskey(%s, %d)", tc.id, tc.count), ok, tc.want, err)
	}
	ok, err := s.UsePasskey(ctx, alice, []byte("missing"), []byte("{}"), 9, t0)
	want(t, "an unknown passkey", ok, false, err)
}

func passkeyHandleOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	handles := make(chan []byte, 16)
	n := race(t, 16, func() (bool, error) {
		h, err := s.PasskeyHandle(ctx, alice, []byte(fmt.Sprintf("proposal-%p", &ctx)+time.Now().String()))
		handles <- h
		return err == nil, err
	})
	close(handles)
	if n != 16 {
		t.Fatalf("%d of 16 concurrent PasskeyHandle calls succeeded", n)
	}
	var first []byte
	for h := range handles {
		if first == nil {
			first = h
		} else if !bytes.Equal(h, first) {
			t.Fatalf("concurrent PasskeyHandle calls got different handles: %q and %q", first, h)
		}
	}
	again, err := s.PasskeyHandle(ctx, alice, []byte("another"))
	must(t, err)
	if !bytes.Equal(again, first) {
		t.Fatalf("PasskeyHandle replaced the handle: %q, want %q", again, first)
	}
	b, err := s.PasskeyHandle(ctx, bob, []byte("bob-handle"))
	must(t, err)
	if string(b) != "bob-handle" {
		t.Fatalf("bob's handle: %q", b)
	}
	if err := func() error {
		_, err := s.PasskeyHandle(ctx, store.User{Provider: "x", UserID: "y"}, []byte("bob-handle"))
		return err
	}(); err == nil {
		t.Fatal("a handle already taken by bob was stored for another user")
	}
}

func concurrentChallenge(t *testing.T, s store.Store) {
	ctx := context.Background()
	exp := t0.Add(5 * time.Minute)
	if n := race(t, 16, func() (bool, error) { return s.SpendChallenge(ctx, "challenge-1", exp, t0) }); n != 1 {
		t.Fatalf("a challenge was spent %d times by 16 concurrent requests, want once", n)
	}
	ok, err := s.SpendChallenge(ctx, "challenge-2", exp, t0)
	want(t, "another challenge", ok, true, err)
	ok, err = s.SpendChallenge(ctx, "challenge-1", exp, t0.Add(time.Minute))
	want(t, "challenge-1 again, later", ok, false, err)
	// Past its expiry a record may be forgotten: the ceremony refuses an
	// expired challenge itself, so that is safe; the store must not fail.
	if _, err := s.SpendChallenge(ctx, "challenge-3", exp, exp.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func removeTOTPKeepsPasskeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	enrol(t, s, alice, 1, "r1")
	must(t, s.AddPasskey(ctx, alice, passkey("k", "key", 0)))
	ok, err := s.RemoveTOTP(ctx, alice)
	want(t, "RemoveTOTP", ok, true, err)
	if _, err := s.TOTP(ctx, alice); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TOTP after RemoveTOTP: %v", err)
	}
	if n, err := s.RecoveryLeft(ctx, alice); err != nil || n != 1 {
		t.Fatalf("recovery codes of a user who keeps a passkey: %d %v, want 1", n, err)
	}
	if p, err := s.Passkeys(ctx, alice); err != nil || len(p) != 1 {
		t.Fatalf("passkeys after RemoveTOTP: %v %v", p, err)
	}
	ok, err = s.RemoveTOTP(ctx, alice)
	want(t, "RemoveTOTP again", ok, false, err)
	enrol(t, s, bob, 1, "r1", "r2")
	ok, err = s.RemoveTOTP(ctx, bob)
	want(t, "RemoveTOTP of bob", ok, true, err)
	if n, err := s.RecoveryLeft(ctx, bob); err != nil || n != 0 {
		t.Fatalf("recovery codes of a user left with no factor: %d %v, want 0", n, err)
	}
	must(t, s.ReplaceRecoveryCodes(ctx, alice, []string{"n1", "n2", "n3"}))
	if n, err := s.RecoveryLeft(ctx, alice); err != nil || n != 3 {
		t.Fatalf("after ReplaceRecoveryCodes: %d %v", n, err)
	}
	ok, err = s.UseRecoveryCode(ctx, alice, "r1")
	want(t, "a replaced code", ok, false, err)
	ok, err = s.UseRecoveryCode(ctx, alice, "n2")
	want(t, "a new code", ok, true, err)
}

func resetRemovesPasskeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	h, err := s.PasskeyHandle(ctx, alice, []byte("h-alice"))
	must(t, err)
	must(t, s.AddPasskey(ctx, alice, passkey("k", "key", 0)))
	must(t, s.ReplaceRecoveryCodes(ctx, alice, []string{"x"}))
	ok, err := s.Remove(ctx, alice)
	want(t, "Remove of a passkey-only user", ok, true, err)
	if p, err := s.Passkeys(ctx, alice); err != nil || len(p) != 0 {
		t.Fatalf("passkeys after the reset: %v %v", p, err)
	}
	if _, err := s.UserByHandle(ctx, h); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the handle after the reset: %v, want ErrNotFound (the authenticator's old passkey must find nobody)", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List after the reset: %v %v", list, err)
	}
	// The id is free again: the same authenticator can register anew.
	must(t, s.AddPasskey(ctx, alice, passkey("k", "key", 0)))
}
