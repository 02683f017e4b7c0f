package ldap

import (
	"errors"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
)

// TestADChangeFailure maps the diagnostic messages of refused unicodePwd
// changes: Samba's (checked against the real server in
// TestChangePasswordSamba) and Windows AD's, which says only 0000052D for
// every policy violation.
func TestADChangeFailure(t *testing.T) {
	tests := []struct {
		diag   string
		want   error
		reason providers.Reason
	}{
		{"00000056: AtrErr: DSID-03191083, #1:\n\t0: 00000056: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)",
			providers.ErrBadCredentials, providers.ReasonWrongPassword},
		{"0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)",
			providers.ErrPasswordRejected, providers.ReasonPasswordPolicy},
		{"0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!",
			providers.ErrPasswordRejected, providers.ReasonPasswordTooShort},
		{"0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!",
			providers.ErrPasswordRejected, providers.ReasonPasswordNotComplex},
		{"0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!",
			providers.ErrPasswordRejected, providers.ReasonPasswordInHistory},
		{"0000052D: Constraint violation - check_password_restrictions: password is too young to change!",
			providers.ErrPasswordRejected, providers.ReasonPasswordTooRecent},
		{"00002082: something else entirely", providers.ErrBadCredentials, providers.ReasonBindRefused},
		{"", providers.ErrBadCredentials, providers.ReasonBindRefused},
	}
	for _, tt := range tests {
		t.Run(string(tt.reason), func(t *testing.T) {
			f := adChangeFailure(tt.diag, errors.New("ldap"))
			if !errors.Is(f, tt.want) || f.Reason != tt.reason {
				t.Fatalf("adChangeFailure(%q) = %v (reason %s), want %v with reason %s", tt.diag, f, f.Reason, tt.want, tt.reason)
			}
		})
	}
}
