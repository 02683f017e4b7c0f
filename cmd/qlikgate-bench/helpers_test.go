package main

import (
	"testing"

	"github.com/qlikgate/qlikgate/providers/static"
)

// cheapHash is the virtual users' password at a trivial argon2id cost, for
// tests that are not about hashing.
func cheapHash(t *testing.T) string {
	t.Helper()
	h, err := static.HashPassword(benchPassword, static.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
