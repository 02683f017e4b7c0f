// Package targettest is the contract every target kind must keep, as a
// suite its tests run against a qliksim simulator (the way Dex's
// storage/conformance is run by each storage): ParseEntry refuses what
// is not allowlisted, Logout may be called any number of times, and a
// cancelled request asks Qlik for nothing.
package targettest

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// Setup is what a target kind's test gives the suite.
type Setup struct {
	// Target is opened against a running simulator.
	Target qlik.Target
	// User may sign in to the simulator.
	User qlik.User
	// Entry is a query Qlik itself would send the browser with.
	Entry url.Values
	// Refused are queries ParseEntry must refuse: foreign URLs, bad ids.
	Refused map[string]url.Values
}

// Run runs the target contract.
func Run(t *testing.T, s Setup) {
	t.Helper()
	ctx := context.Background()
	var entry qlik.Entry
	t.Run("ParseEntry takes Qlik's own entry", func(t *testing.T) {
		e, err := s.Target.ParseEntry(s.Entry)
		if err != nil {
			t.Fatalf("ParseEntry(%v): %v", s.Entry, err)
		}
		entry = e
	})
	if len(s.Refused) == 0 {
		t.Error("the setup lists no entries to refuse")
	}
	for name, q := range s.Refused {
		t.Run("ParseEntry refuses "+name, func(t *testing.T) {
			if e, err := s.Target.ParseEntry(q); !errors.Is(err, qlik.ErrBadEntry) {
				t.Fatalf("ParseEntry(%v) = %+v, %v; want ErrBadEntry", q, e, err)
			}
		})
	}
	t.Run("Login honours a cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		h, err := s.Target.Login(cctx, s.User, entry)
		if err == nil {
			t.Fatalf("a cancelled Login handed off: %+v", h)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v; want it to match context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the cancelled Login took %v", d)
		}
	})
	t.Run("Login hands off", func(t *testing.T) {
		h, err := s.Target.Login(ctx, s.User, entry)
		if err != nil || (h.Redirect == "" && h.Page == nil) {
			t.Fatalf("Login = %+v, %v; want a redirect or a page", h, err)
		}
	})
	t.Run("Logout is idempotent", func(t *testing.T) {
		for i := range 3 {
			if _, err := s.Target.Logout(ctx, s.User); err != nil {
				t.Fatalf("Logout #%d: %v", i+1, err)
			}
		}
	})
	t.Run("Logout of a user who never signed in", func(t *testing.T) {
		stranger := s.User
		stranger.UserID = "never-signed-in"
		if _, err := s.Target.Logout(ctx, stranger); err != nil {
			t.Fatalf("Logout: %v", err)
		}
	})
}
