package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers"
)

// slapdChangeConfig is the test slapd over LDAPS with password_change on.
func slapdChangeConfig(t testing.TB, mods ...func(*Config)) Config {
	s := needSlapd(t)
	return slapdConfig(s, append([]func(*Config){func(c *Config) {
		c.URLs, c.CAFile, c.PasswordChange.Enabled = []string{s.LDAPSURL}, s.CAFile, true
	}}, mods...)...)
}

// TestLoginPasswordPolicySlapd: ppolicy's answers to a user bind, against
// the real slapd with the ppolicy overlay. A reset or expired password is
// only reported after the right password.
func TestLoginPasswordPolicySlapd(t *testing.T) {
	p, _ := openProvider(t, slapdChangeConfig(t))
	off, _ := openProvider(t, slapdChangeConfig(t, func(c *Config) { c.PasswordChange.Enabled = false }))
	ctx := context.Background()
	for _, tt := range []struct {
		name, user, password string
		p                    *Provider
		reason, text         string // reason "" is a successful login
	}{
		{"reset by an administrator", "rita", "ritapass", p, "password_must_change", textExpired},
		{"reset, without password_change", "rita", "ritapass", off, "password_must_change", textExpired},
		{"reset, wrong password", "rita", "wrongpass", p, "wrong_password", ""},
		{"expired, grace logins left", "eddie", "eddiepass", p, "password_expired", textExpired},
		// Without the change page, a grace login is a login, as before.
		{"expired, grace login, without password_change", "ezra", "ezrapass", off, "", ""},
		{"expired, no grace login", "nora", "norapass", p, "password_expired_no_grace", textExpired},
		{"expired, wrong password", "nora", "wrongpass", p, "wrong_password", ""},
		{"no policy problem", "yuri", "yuripass", p, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.p.Login(ctx, tt.user, tt.password)
			if tt.reason == "" {
				if err != nil || id.UserID != tt.user {
					t.Fatalf("Login = %q, %v, want %s signed in", id.UserID, err, tt.user)
				}
				return
			}
			wantFailure(t, err, tt.reason, tt.text)
		})
	}
}

// TestChangePasswordSlapd changes passwords with the Password Modify
// extended operation as the user: ppolicy's refusals first (they change
// nothing), each mapped to its reason, then the change, after which the
// new password signs in and the old one does not.
func TestChangePasswordSlapd(t *testing.T) {
	p, logs := openProvider(t, slapdChangeConfig(t))
	ctx := context.Background()
	refusals := []struct {
		name, user, old, new string
		want                 error
		reason               providers.Reason
	}{
		{"wrong current password", "rita", "Wrong-Passw0rd", "N3w-Passw0rd", providers.ErrBadCredentials, providers.ReasonWrongPassword},
		{"wrong current password, too short", "rita", "Wrong-Passw0rd", "short", providers.ErrBadCredentials, providers.ReasonWrongPassword},
		{"unknown user", "mallory", "ritapass", "N3w-Passw0rd", providers.ErrBadCredentials, providers.ReasonUnknownUser},
		{"too short (pwdMinLength)", "rita", "ritapass", "short", providers.ErrPasswordRejected, providers.ReasonPasswordTooShort},
		{"unchanged", "rita", "ritapass", "ritapass", providers.ErrPasswordRejected, providers.ReasonPasswordInHistory},
		{"too recent (pwdMinAge)", "yuri", "yuripass", "N3w-Passw0rd", providers.ErrPasswordRejected, providers.ReasonPasswordTooRecent},
		{"expired, too short", "eddie", "eddiepass", "short", providers.ErrPasswordRejected, providers.ReasonPasswordTooShort},
		{"expired without grace login", "nora", "norapass", "N3w-Passw0rd", providers.ErrBadCredentials, "password_expired_no_grace"},
		{"empty new password", "rita", "ritapass", "", providers.ErrPasswordRejected, providers.ReasonPasswordPolicy},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			wantChangeFailure(t, p.ChangePassword(ctx, tt.user, tt.old, tt.new), tt.want, tt.reason)
		})
	}
	wantFailure(t, loginErr(p.Login(ctx, "rita", "ritapass")), "password_must_change", textExpired)

	for _, u := range []string{"rita", "eddie"} {
		old, next := u+"pass", "N3w-Passw0rd-"+u
		var accounts []string
		gate := func(_ context.Context, account string) error { accounts = append(accounts, account); return nil }
		if err := p.ChangePassword(providers.WithAccountGate(ctx, gate), u, old, next); err != nil {
			t.Fatalf("ChangePassword(%s): %v", u, err)
		}
		if want := strings.ToLower(needSlapd(t).DN(u)); len(accounts) != 1 || accounts[0] != want {
			t.Errorf("accounts reported to the gate = %q, want [%q]", accounts, want)
		}
		if id, err := p.Login(ctx, u, next); err != nil || id.UserID != u {
			t.Fatalf("login of %s with the new password: %q, %v", u, id.UserID, err)
		}
		wantFailure(t, loginErr(p.Login(ctx, u, old)), "wrong_password", "")
		// pwdInHistory: the password before is refused now.
		wantChangeFailure(t, p.ChangePassword(ctx, u, next, old), providers.ErrPasswordRejected, providers.ReasonPasswordInHistory)
	}
	for _, pw := range []string{"ritapass", "eddiepass", "N3w-Passw0rd-rita", "N3w-Passw0rd-eddie", "Wrong-Passw0rd"} {
		if strings.Contains(logs.String(), pw) {
			t.Errorf("a password (%q) appears in the log", pw)
		}
	}
}

// TestPpolicyChangeFailure maps ppolicy's refusals, by the response
// control and, without it, by slapd's message; the ones the real slapd
// cannot produce here (pwdCheckQuality needs a check module to refuse a
// clear-text password as too simple) are covered only here.
func TestPpolicyChangeFailure(t *testing.T) {
	constraint := func(msg string) error { return ldap.NewError(ldap.LDAPResultConstraintViolation, errors.New(msg)) }
	control := func(code int8) *ldap.ControlBeheraPasswordPolicy {
		c := ldap.NewControlBeheraPasswordPolicy()
		c.Error = code
		return c
	}
	for _, tt := range []struct {
		name   string
		pp     *ldap.ControlBeheraPasswordPolicy
		err    error
		want   error
		reason providers.Reason
	}{
		{"control: too short", control(ldap.BeheraPasswordTooShort), constraint("Password fails quality checking policy"), providers.ErrPasswordRejected, providers.ReasonPasswordTooShort},
		{"control: quality", control(ldap.BeheraInsufficientPasswordQuality), constraint("Password fails quality checking policy"), providers.ErrPasswordRejected, providers.ReasonPasswordNotComplex},
		{"control: history", control(ldap.BeheraPasswordInHistory), constraint("x"), providers.ErrPasswordRejected, providers.ReasonPasswordInHistory},
		{"control: too young", control(ldap.BeheraPasswordTooYoung), constraint("x"), providers.ErrPasswordRejected, providers.ReasonPasswordTooRecent},
		{"control: user change not allowed", control(ldap.BeheraPasswordModNotAllowed), ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("User alteration of password is not allowed")), providers.ErrUnavailable, ""},
		{"text: quality", nil, constraint("Password fails quality checking policy"), providers.ErrPasswordRejected, providers.ReasonPasswordNotComplex},
		{"text: history", nil, constraint("Password is in history of old passwords"), providers.ErrPasswordRejected, providers.ReasonPasswordInHistory},
		{"text: too young", nil, constraint("Password is too young to change"), providers.ErrPasswordRejected, providers.ReasonPasswordTooRecent},
		{"text: other constraint", nil, constraint("something"), providers.ErrPasswordRejected, providers.ReasonPasswordPolicy},
		{"old password not verified", nil, ldap.NewError(ldap.LDAPResultUnwillingToPerform, errors.New("unwilling to verify old password")), providers.ErrBadCredentials, providers.ReasonWrongPassword},
		{"no write access", nil, ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("no write access")), providers.ErrUnavailable, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ppolicyChangeFailure(tt.pp, tt.err)
			if !errors.Is(err, tt.want) || failureReason(err) != tt.reason {
				t.Fatalf("ppolicyChangeFailure = %v (reason %q), want %v with reason %q", err, failureReason(err), tt.want, tt.reason)
			}
		})
	}
}
