package oidctest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
)

const redirectURL = "http://127.0.0.1:9/callback"

// rp is a minimal relying party built straight on go-oidc and oauth2, so
// the helper is tested independently of qlikgate's provider.
type rp struct {
	cfg      oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func newRP(t *testing.T, op *oidctest.OP, clientID, secret string) rp {
	t.Helper()
	ctx := gooidc.ClientContext(context.Background(), op.Client())
	p, err := gooidc.NewProvider(ctx, op.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return rp{
		cfg: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirectURL,
			Scopes: []string{"openid", "profile", "email"}},
		verifier: p.Verifier(&gooidc.Config{ClientID: clientID}),
	}
}

func (r rp) authURL(verifier string) string {
	return r.cfg.AuthCodeURL("the-state", gooidc.Nonce("the-nonce"), oauth2.S256ChallengeOption(verifier))
}

func TestLoginAndClaims(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[useTLS]
		t.Run(name, func(t *testing.T) {
			op := oidctest.Start(t)
			if useTLS {
				op = oidctest.StartTLS(t)
			}
			op.RegisterClient(oidctest.Client{ID: "web", Secret: "s3cret", RedirectURIs: []string{redirectURL}})
			r := newRP(t, op, "web", "s3cret")
			v := oauth2.GenerateVerifier()
			cb := op.Login(t, op.Client(), r.authURL(v), "alice", "alicepass")
			if cb.Query().Get("state") != "the-state" || cb.Query().Get("code") == "" || !strings.HasPrefix(cb.String(), redirectURL) {
				t.Fatalf("callback = %s", cb)
			}
			ctx := gooidc.ClientContext(context.Background(), op.Client())
			tok, err := r.cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				Nonce  string   `json:"nonce"`
				Groups []string `json:"groups"`
				Realm  struct {
					Roles []string `json:"roles"`
				} `json:"realm_access"`
			}
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			if idt.Subject != "u-alice" || c.Nonce != "the-nonce" || !slices.Equal(c.Groups, []string{"admins", "users"}) ||
				!slices.Equal(c.Realm.Roles, []string{"analyst", "viewer"}) {
				t.Errorf("ID token: sub %q, claims %+v", idt.Subject, c)
			}
		})
	}
}

func TestLoginRefused(t *testing.T) {
	op := oidctest.Start(t)
	op.RegisterClient(oidctest.Client{ID: "web", Secret: "s3cret", RedirectURIs: []string{redirectURL}})
	r := newRP(t, op, "web", "s3cret")
	_, err := op.Authorize(context.Background(), nil, r.authURL(oauth2.GenerateVerifier()), "alice", "wrong")
	if err == nil || !strings.Contains(err.Error(), "username or password wrong") {
		t.Errorf("wrong password: err = %v", err)
	}

	// Clients are per OP, not in the example's package-global registry.
	other := oidctest.Start(t)
	_, err = other.Authorize(context.Background(), nil, strings.Replace(r.authURL(oauth2.GenerateVerifier()), op.Issuer(), other.Issuer(), 1), "alice", "alicepass")
	if err == nil {
		t.Error("an OP accepted a client registered at another OP")
	}
}

func TestStopRestart(t *testing.T) {
	op := oidctest.Start(t)
	op.RegisterClient(oidctest.Client{ID: "web", Secret: "s3cret", RedirectURIs: []string{redirectURL}})
	r := newRP(t, op, "web", "s3cret")
	op.Stop()
	if _, err := gooidc.NewProvider(context.Background(), op.Issuer()); err == nil {
		t.Fatal("discovery succeeded while stopped")
	}
	op.Restart(t)
	v := oauth2.GenerateVerifier()
	cb := op.Login(t, nil, r.authURL(v), "bob", "bobpass")
	tok, err := r.cfg.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	// The keys survived the restart: the verifier from before still works.
	if _, err := r.verifier.Verify(context.Background(), tok.Extra("id_token").(string)); err != nil {
		t.Fatal(err)
	}
}

// TestLoginFromRelyingPartyURL starts where a browser does: at the relying
// party's own login URL, which redirects to the OP.
func TestLoginFromRelyingPartyURL(t *testing.T) {
	op := oidctest.Start(t)
	op.RegisterClient(oidctest.Client{ID: "web", Secret: "s3cret", RedirectURIs: []string{redirectURL}})
	r := newRP(t, op, "web", "s3cret")
	v := oauth2.GenerateVerifier()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, r.authURL(v), http.StatusFound)
	}))
	defer app.Close()
	cb := op.Login(t, nil, app.URL+"/login/idp", "carol", "carolpass")
	if cb.Query().Get("code") == "" || cb.Query().Get("state") != "the-state" {
		t.Fatalf("callback = %s", cb)
	}
}
