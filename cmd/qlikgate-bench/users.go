package main

import "fmt"

// account is one virtual user's sign-in.
type account struct {
	name, password, fullName string
}

// benchPassword is every virtual user's password. The static provider's
// users then share one argon2id hash (hashing one per user at the default
// cost would take seconds at start-up); verifying it costs exactly as much.
const benchPassword = "correct horse battery staple"

// accounts returns n accounts with distinct usernames, one per virtual user:
// the brute-force throttle counts per username, and the directory finds a
// different entry for each.
func accounts(n int) []account {
	out := make([]account, n)
	for i := range out {
		name := fmt.Sprintf("vu%04d", i+1)
		out[i] = account{name: name, password: benchPassword, fullName: "Virtual User " + name}
	}
	return out
}
