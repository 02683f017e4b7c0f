package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
)

// callbackURL is where the OP sends the browser back; the tests read the
// URL from the OP's redirect and never request it.
const callbackURL = "http://127.0.0.1:9/callback/idp"

// fastRetry keeps the issuer-down tests short.
var fastRetry = backoff{min: 20 * time.Millisecond, max: 200 * time.Millisecond}

// flow is what the web layer keeps per sign-in.
type flow struct{ state, nonce, verifier string }

func newFlow() flow { return flow{rand.Text(), rand.Text(), oauth2.GenerateVerifier()} }

var clientSeq atomic.Int64

// newClient registers a fresh client at op (so each case may shape it) and
// returns a configuration for it that reads the user id from
// preferred_username.
func newClient(t *testing.T, op *oidctest.OP, shape func(*oidctest.Client)) Config {
	t.Helper()
	c := oidctest.Client{
		ID:           fmt.Sprintf("client-%d", clientSeq.Add(1)),
		Secret:       "secret-" + rand.Text(),
		RedirectURIs: []string{callbackURL},
	}
	if shape != nil {
		shape(&c)
	}
	op.RegisterClient(c)
	cfg := *NewConfig()
	cfg.Issuer = op.Issuer()
	cfg.ClientID = c.ID
	cfg.ClientSecret = c.Secret
	cfg.PublicClient = c.Secret == ""
	cfg.UserIDClaim = "preferred_username"
	return cfg
}

func openProvider(t *testing.T, cfg Config) *Provider {
	t.Helper()
	env := providers.Env{CallbackURL: callbackURL, Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	p, err := open(context.Background(), providers.Common{ID: "idp"}, cfg, env, fastRetry)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// login runs AuthURL and the OP's login form and returns the callback
// query with the flow it belongs to.
func login(t *testing.T, op *oidctest.OP, p *Provider, user, password string) (url.Values, flow) {
	t.Helper()
	f := newFlow()
	authURL, err := p.AuthURL(context.Background(), f.state, f.nonce, f.verifier)
	if err != nil {
		t.Fatalf("AuthURL: %v", err)
	}
	cb := op.Login(t, nil, authURL, user, password)
	if got := cb.Query().Get("state"); got != f.state {
		t.Fatalf("callback state = %q, want the flow's", got)
	}
	return cb.Query(), f
}

func signIn(t *testing.T, op *oidctest.OP, p *Provider, user, password string) (providers.Identity, error) {
	t.Helper()
	q, f := login(t, op, p, user, password)
	return p.Callback(context.Background(), q, f.nonce, f.verifier)
}

// wantFailure checks that err is a Failure with the reason and sentinel.
func wantFailure(t *testing.T, err error, reason string, sentinel error) *providers.Failure {
	t.Helper()
	var f *providers.Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a *providers.Failure %q", err, reason)
	}
	t.Logf("refused as expected: %v", err)
	if string(f.Reason) != reason {
		t.Errorf("reason = %q, want %q (err: %v)", f.Reason, reason, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("err = %v, want it to match %v", err, sentinel)
	}
	return f
}
