package oidc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
)

// TestIssuerDownAtStart: qlikgate starts while the issuer is down; the
// provider opens anyway, reports itself unavailable, and works once the
// issuer is back on the same address.
func TestIssuerDownAtStart(t *testing.T) {
	op := oidctest.Start(t)
	cfg := newClient(t, op, nil)
	op.Stop()

	start := time.Now()
	p := openProvider(t, cfg)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open took %v with the issuer down; it must not block", d)
	}
	f := newFlow()
	_, err := p.AuthURL(context.Background(), f.state, f.nonce, f.verifier)
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "dial tcp") {
		t.Fatalf("AuthURL with the issuer down: err = %v, want ErrUnavailable with the cause", err)
	}
	if p.Available() {
		t.Fatal("Available() with the issuer down")
	}

	op.Restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for !p.Available() {
		if time.Now().After(deadline) {
			t.Fatal("the provider did not become available after the issuer came back")
		}
		_, _ = p.AuthURL(context.Background(), f.state, f.nonce, f.verifier) // a user clicking makes the loop retry early
		time.Sleep(10 * time.Millisecond)
	}
	id, err := signIn(t, op, p, "alice", "alicepass")
	if err != nil || id.UserID != "alice" {
		t.Fatalf("sign-in after the issuer came back: %+v, %v", id, err)
	}
}

// TestIssuerDownAtCallback: the issuer goes away between the login and the
// code exchange.
func TestIssuerDownAtCallback(t *testing.T) {
	op := oidctest.Start(t)
	p := openProvider(t, newClient(t, op, nil))
	q, f := login(t, op, p, "alice", "alicepass")
	op.Stop()
	_, err := p.Callback(context.Background(), q, f.nonce, f.verifier)
	wantFailure(t, err, "issuer_unavailable", providers.ErrUnavailable)
	if strings.Contains(err.Error(), q.Get("code")) {
		t.Errorf("error %q contains the code", err)
	}
}

// TestCloseStopsDiscovery: Close ends the retry loop at once, even in the
// middle of a long back-off, and may be called twice.
func TestCloseStopsDiscovery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	cfg := *NewConfig()
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret = "http://"+addr+"/", "c", "s"
	env := providers.Env{CallbackURL: callbackURL, Log: slog.New(slog.DiscardHandler)}
	p, err := open(context.Background(), providers.Common{ID: "idp"}, cfg, env, backoff{min: time.Hour, max: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	<-p.firstDone
	start := time.Now()
	p.Close()
	p.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case <-p.done:
	default:
		t.Error("the discovery goroutine is still running after Close")
	}
}

// TestDiscover reports on the issuer synchronously, as `qlikgate check` needs.
func TestDiscover(t *testing.T) {
	op := oidctest.Start(t)
	cfg := newClient(t, op, nil)
	p := openProvider(t, cfg)
	if err := p.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if !p.Available() {
		t.Error("not available after Discover")
	}

	cfg.Issuer = strings.TrimSuffix(op.Issuer(), "/") // the OP says it is …/ with the slash
	other := openProvider(t, cfg)
	err := other.Discover(context.Background())
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "did not match") {
		t.Errorf("Discover with an issuer missing its trailing slash: %v", err)
	}
}
