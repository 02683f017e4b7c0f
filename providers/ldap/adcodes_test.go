package ldap

import (
	"errors"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
)

// TestBindFailure uses diagnostic messages in the exact format Samba 4.17 and
// Windows AD send. 525 and 534 are not produced by Samba for simple binds
// (it answers 52e for unknown names), so only this test covers them.
func TestBindFailure(t *testing.T) {
	const url = "https://pw.example.org/"
	msg := func(code string) string {
		return "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data " + code + ", v1db1"
	}
	tests := []struct {
		diag, reason, text string
	}{
		{msg("52e"), "wrong_password", ""},
		{msg("525"), "unknown_user", ""},
		{msg("530"), "logon_hours_restricted", textRestricted},
		{msg("531"), "workstation_restricted", textRestricted},
		{msg("532"), "password_expired", "Your password has expired or must be changed. Change it at " + url + ", then sign in again."},
		{msg("533"), "account_disabled", textRestricted},
		{msg("534"), "bind_refused_534", ""},
		{msg("701"), "account_expired", textRestricted},
		{msg("773"), "password_must_change", "Your password has expired or must be changed. Change it at " + url + ", then sign in again."},
		{msg("775"), "account_locked", ""},
		// Windows Server 2019 wording, upper-case hex.
		{"80090308: LdapErr: DSID-0C090447, comment: AcceptSecurityContext error, data 52E, v3839", "wrong_password", ""},
		// OpenLDAP says nothing more.
		{"", "wrong_password", ""},
		{"Invalid credentials", "wrong_password", ""},
	}
	for _, tt := range tests {
		f := bindFailure(tt.diag, url, errors.New(tt.diag))
		if string(f.Reason) != tt.reason || f.UserText != tt.text || !errors.Is(f, providers.ErrBadCredentials) {
			t.Errorf("bindFailure(%q) = {%q, %q, %v}, want {%q, %q, ErrBadCredentials}", tt.diag, f.Reason, f.UserText, f.Err, tt.reason, tt.text)
		}
		// The address travels on its own too, for a translated message.
		wantURL := ""
		if tt.reason == "password_expired" || tt.reason == "password_must_change" {
			wantURL = url
		}
		if f.ChangeURL != wantURL {
			t.Errorf("bindFailure(%q).ChangeURL = %q, want %q", tt.diag, f.ChangeURL, wantURL)
		}
	}
	if f := bindFailure(msg("532"), "", nil); f.UserText != textExpired || f.ChangeURL != "" {
		t.Errorf("without password_change_url: %q, %q", f.UserText, f.ChangeURL)
	}
}
