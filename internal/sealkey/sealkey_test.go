package sealkey

import (
	"bytes"
	"testing"
)

// The same secret under two purposes must give two keys: a value sealed
// for one purpose must not open as the other.
func TestPurposesDoNotShareAKey(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	a, err := AEAD(secret, "purpose a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := AEAD(secret, "purpose b")
	if err != nil {
		t.Fatal(err)
	}
	again, err := AEAD(secret, "purpose a")
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, a.NonceSize())
	sealed := a.Seal(nil, nonce, []byte("state"), nil)
	if _, err := b.Open(nil, nonce, sealed, nil); err == nil {
		t.Fatal("a value sealed under purpose a opened under purpose b")
	}
	got, err := again.Open(nil, nonce, sealed, nil)
	if err != nil || !bytes.Equal(got, []byte("state")) {
		t.Fatalf("the same secret and purpose did not derive the same key: %q, %v", got, err)
	}
}
