package ldap

import (
	"regexp"
	"strings"

	"github.com/qlikgate/qlikgate/providers"
)

// Active Directory (and Samba) explain a refused bind in the diagnostic
// message of result 49, e.g.
//
//	80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1
//
// The "data" value is a Windows error code in hex.
var adDataPattern = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{1,8})\b`)

// adSubCode returns the lower-case "data" code of an AD bind error, or "".
func adSubCode(diagnostic string) string {
	m := adDataPattern.FindStringSubmatch(diagnostic)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// Texts safe to show: AD only returns the codes that use them when the
// password was right (checked against Samba), so they tell nothing to someone
// guessing usernames.
const (
	textRestricted = "This account cannot sign in at the moment. Please contact your IT help desk."
	textExpired    = "Your password has expired or must be changed. Change it, then sign in again."
	textExpiredAt  = "Your password has expired or must be changed. Change it at %s, then sign in again."
)

// bindFailure turns the diagnostic message of a refused user bind (result 49)
// into a Failure: a distinct reason for the log and, only where it cannot
// reveal whether the account exists, a text for the user.
func bindFailure(diagnostic, changeURL string, err error) *providers.Failure {
	f := &providers.Failure{Err: providers.ErrBadCredentials}
	code := adSubCode(diagnostic)
	switch code {
	case "":
		f.Reason = providers.ReasonWrongPassword // not AD: servers do not say more
	case "525":
		f.Reason = providers.ReasonUnknownUser
	case "52e":
		f.Reason = providers.ReasonWrongPassword
	case "530":
		f.Reason, f.UserText = providers.ReasonLogonHoursRestricted, textRestricted
	case "531":
		f.Reason, f.UserText = providers.ReasonWorkstationRestricted, textRestricted
	case "532":
		f.Reason, f.UserText, f.ChangeURL = providers.ReasonPasswordExpired, expiredText(changeURL), changeURL
	case "533":
		f.Reason, f.UserText = providers.ReasonAccountDisabled, textRestricted
	case "701":
		f.Reason, f.UserText = providers.ReasonAccountExpired, textRestricted
	case "773":
		f.Reason, f.UserText, f.ChangeURL = providers.ReasonPasswordMustChange, expiredText(changeURL), changeURL
	case "775":
		// AD says "locked" whatever password was given, so telling the user
		// would confirm that the account exists: same answer as a wrong password.
		f.Reason = providers.ReasonAccountLocked
	default:
		f.Reason = providers.ReasonBindRefused + "_" + providers.Reason(code)
	}
	if err != nil {
		f.Err = wrapBad(err)
	}
	return f
}

func expiredText(changeURL string) string {
	if changeURL == "" {
		return textExpired
	}
	return strings.Replace(textExpiredAt, "%s", changeURL, 1)
}
