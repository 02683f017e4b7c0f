package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
)

// TestChangePasswordSamba changes the password of mona, who must change it
// at next logon (773), against the real Samba AD DC: every refusal first
// (they change nothing), each mapped to its reason by what Samba answers,
// then the change, after which the new password binds and the old one does
// not, and a second change is refused by the domain's minimum age.
func TestChangePasswordSamba(t *testing.T) {
	s := needSamba(t)
	p, logs := openProvider(t, sambaConfig(s, func(c *Config) { c.PasswordChange.Enabled = true }))
	ctx := context.Background()
	old, next := s.Password("mona"), "N3w-Passw0rd-mona!"
	wantFailure(t, loginErr(p.Login(ctx, "mona", old)), "password_must_change", expiredText(p.cfg.PasswordChangeURL))

	refusals := []struct {
		name, user, old, new string
		want                 error
		reason               providers.Reason
	}{
		{"wrong current password", "mona", "Wrong-Passw0rd!", next, providers.ErrBadCredentials, providers.ReasonWrongPassword},
		// The policy is only applied after the current password was found
		// right: a guess learns nothing from it.
		{"wrong current password, too short", "mona", "Wrong-Passw0rd!", "Ab1!", providers.ErrBadCredentials, providers.ReasonWrongPassword},
		{"unknown user", "mallory", old, next, providers.ErrBadCredentials, providers.ReasonUnknownUser},
		{"too short", "mona", old, "Ab1!", providers.ErrPasswordRejected, providers.ReasonPasswordTooShort},
		{"not complex", "mona", old, "abcdefghijklmnop", providers.ErrPasswordRejected, providers.ReasonPasswordNotComplex},
		{"in history", "mona", old, old, providers.ErrPasswordRejected, providers.ReasonPasswordInHistory},
		{"empty new password", "mona", old, "", providers.ErrPasswordRejected, providers.ReasonPasswordPolicy},
		{"empty current password", "mona", "", next, providers.ErrBadCredentials, providers.ReasonEmptyPassword},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			err := p.ChangePassword(ctx, tt.user, tt.old, tt.new)
			wantChangeFailure(t, err, tt.want, tt.reason)
		})
	}
	// Still must change: none of the refusals changed anything.
	wantFailure(t, loginErr(p.Login(ctx, "mona", old)), "password_must_change", expiredText(p.cfg.PasswordChangeURL))

	var accounts []string
	gate := func(_ context.Context, account string) error { accounts = append(accounts, account); return nil }
	if err := p.ChangePassword(providers.WithAccountGate(ctx, gate), `TEST\mona`, old, next); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if want := strings.ToLower(s.DN("mona")); len(accounts) != 1 || accounts[0] != want {
		t.Errorf("accounts reported to the gate = %q, want [%q]", accounts, want)
	}
	if id, err := p.Login(ctx, "mona", next); err != nil || id.UserID != "mona" {
		t.Fatalf("login with the new password: %q, %v", id.UserID, err)
	}
	wantFailure(t, loginErr(p.Login(ctx, "mona", old)), "wrong_password", "")
	// Samba's default domain policy: a password may be changed once a day.
	wantChangeFailure(t, p.ChangePassword(ctx, "mona", next, "An0ther-Passw0rd!"), providers.ErrPasswordRejected, providers.ReasonPasswordTooRecent)

	for _, pw := range []string{old, next, "Wrong-Passw0rd!", "abcdefghijklmnop", "An0ther-Passw0rd!"} {
		if strings.Contains(logs.String(), pw) {
			t.Errorf("a password (%q) appears in the log", pw)
		}
	}
}

// TestChangeExpiredPasswordSamba: paul's password has expired (532); he
// changes it and signs in with the new one.
func TestChangeExpiredPasswordSamba(t *testing.T) {
	s := needSamba(t)
	if !s.PasswordExpired {
		t.Skipf("Samba could not age the password: %v", s.PasswordExpiredErr)
	}
	p, _ := openProvider(t, sambaConfig(s, func(c *Config) { c.PasswordChange.Enabled = true }))
	ctx := context.Background()
	old, next := s.Password("paul"), "N3w-Passw0rd-paul!"
	wantFailure(t, loginErr(p.Login(ctx, "paul", old)), "password_expired", expiredText(p.cfg.PasswordChangeURL))
	if err := p.ChangePassword(ctx, "paul@"+s.Realm, old, next); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if id, err := p.Login(ctx, "paul", next); err != nil || id.UserID != "paul" {
		t.Fatalf("login with the new password: %q, %v", id.UserID, err)
	}
}

// TestChangePasswordDisabled: without password_change.enabled nothing is
// sent to the directory.
func TestChangePasswordDisabled(t *testing.T) {
	p, _ := openProvider(t, *validConfig(func(c *Config) { c.ActiveDirectory = true }))
	if p.PasswordChangeEnabled() {
		t.Fatal("PasswordChangeEnabled() = true without password_change.enabled")
	}
	err := p.ChangePassword(context.Background(), "mona", "a", "b")
	if err == nil || errors.Is(err, providers.ErrBadCredentials) || !strings.Contains(err.Error(), "password_change.enabled") {
		t.Fatalf("ChangePassword = %v, want an error naming password_change.enabled", err)
	}
}

func loginErr(_ providers.Identity, err error) error { return err }

func wantChangeFailure(t *testing.T, err error, want error, reason providers.Reason) {
	t.Helper()
	var f *providers.Failure
	if !errors.Is(err, want) || !errors.As(err, &f) || f.Reason != reason {
		t.Fatalf("ChangePassword = %v, want %v with reason %s", err, want, reason)
	}
}
