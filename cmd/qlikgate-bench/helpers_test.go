package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// testModule is an in-process module in front of a simulated Sense site.
type testModule struct {
	*inProcessModule
	site    *senseSite
	users   []account
	logFile string // the module's log
	// lastSession is the session cookie of the last sign-in through the
	// web layer (signInThroughWebLayer).
	lastSession string
}

// startModule starts a simulated Sense site and, in front of it, the
// in-process module of this variant with n static accounts, without a
// directory. Both stop when the test ends.
func startModule(t *testing.T, variant string, n int) *testModule {
	t.Helper()
	site, err := newSenseSite(t.TempDir(), "ecdsa", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.close)
	m := &testModule{site: site, users: accounts(n), logFile: filepath.Join(t.TempDir(), "qlikgate.log")}
	m.inProcessModule, err = startInProcess(context.Background(), variant, moduleParts{
		site: site, users: m.users, hash: cheapHash(t), logFile: m.logFile, logLevel: "info",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.stop(); err != nil {
			t.Errorf("stopping the %s module: %v", variant, err)
		}
	})
	if err := site.restart(m.publicURL); err != nil {
		t.Fatal(err)
	}
	return m
}

// webHandoffs counts the hand-offs qlikgate's web layer has logged.
func (m *testModule) webHandoffs(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile(m.logFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "event=handoff ")
}
