package oidc

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestGroupsOverage: Entra ID replaces the groups of a user in more than
// 200 groups by a pointer to Microsoft Graph. That must be logged, and an
// allowed_groups gate must say why it refused.
func TestGroupsOverage(t *testing.T) {
	c, err := decodeClaims([]byte(`{"sub": "s", "preferred_username": "alice@corp.example",
		"_claim_names": {"groups": "src1"},
		"_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := validConfig()
	cfg.UserIDClaim = "preferred_username"
	p := &Provider{cfg: normalise(cfg), log: slog.New(slog.NewTextHandler(&logs, nil))}

	id, err := p.identity(context.Background(), c)
	if err != nil || id.UserID != "alice@corp.example" || len(id.Groups) != 0 {
		t.Fatalf("identity = %+v, %v", id, err)
	}
	if !strings.Contains(logs.String(), "oidc_groups_overage") {
		t.Errorf("no overage warning in the log: %s", logs.String())
	}

	p.cfg.AllowedGroups = []string{"Qlik Users"}
	_, err = p.identity(context.Background(), c)
	wantFailure(t, err, "group_not_allowed", ErrNotAllowed)
	if !strings.Contains(err.Error(), "overage") {
		t.Errorf("err = %v, want the overage named as the cause", err)
	}
}

// TestAssumeEmailVerified: Entra ID sends no email_verified claim.
func TestAssumeEmailVerified(t *testing.T) {
	c, err := decodeClaims([]byte(`{"sub": "s", "email": "bob@corp.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := validConfig()
	cfg.UserIDClaim = "email"
	cfg.AllowedDomains = []string{"corp.example"}
	p := &Provider{cfg: normalise(cfg), log: slog.New(slog.DiscardHandler)}
	if _, err := p.identity(context.Background(), c); err == nil {
		t.Fatal("an e-mail without email_verified was trusted by default")
	}
	p.cfg.AssumeEmailVerified = true
	id, err := p.identity(context.Background(), c)
	if err != nil || id.UserID != "bob@corp.example" || !id.EmailVerified {
		t.Fatalf("with assume_email_verified: %+v, %v", id, err)
	}
	c["email_verified"] = false
	if _, err := p.identity(context.Background(), c); err == nil {
		t.Fatal("assume_email_verified overrode an explicit email_verified: false")
	}
}
