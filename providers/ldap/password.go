package ldap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers"
)

// PasswordChangeEnabled reports whether password_change is on (which
// Validate allows only over TLS): see providers.PasswordChanger.
func (p *Provider) PasswordChangeEnabled() bool { return p.cfg.PasswordChange.Enabled }

// ChangePassword changes a user's password, given the current one. On
// OpenLDAP (and any directory that is not active_directory) it is the
// Password Modify extended operation as the user: see changePasswordModify.
//
// On Active Directory it is one Modify of the user's entry that deletes the old unicodePwd and
// adds the new one: that is a password *change*, for which AD itself checks
// the old password and applies the domain's policy (length, complexity,
// history, minimum age), unlike a Replace, which is an administrator's
// reset. A user whose password has expired or must be changed (532, 773)
// cannot bind, so the Modify is sent on a connection bound as the service
// account, which needs the "Change Password" control access right on the
// user (AD grants it to Everyone by default) and never the "Reset
// Password" right.
func (p *Provider) ChangePassword(ctx context.Context, username, oldPassword, newPassword string) error {
	if !p.cfg.PasswordChange.Enabled {
		return errors.New("ldap: password change is not enabled (password_change.enabled)")
	}
	l := p.cfg.Username.normalize(username)
	switch {
	case l.name == "" || l.foreign != "":
		return &providers.Failure{Reason: providers.ReasonInvalidName, Err: providers.ErrBadCredentials}
	case oldPassword == "":
		return &providers.Failure{Reason: providers.ReasonEmptyPassword, Err: providers.ErrBadCredentials}
	case newPassword == "":
		return &providers.Failure{Reason: providers.ReasonPasswordPolicy, Err: providers.ErrPasswordRejected}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	err := p.search.run(ctx, func(c *conn) error {
		entry, err := p.findUser(ctx, c, l.name)
		if err != nil {
			return err
		}
		// The same gate as a login: a wrong current password is a failed
		// login of this account, whatever name found it.
		if err := providers.EnterAccount(ctx, strings.ToLower(entry.DN)); err != nil {
			return err
		}
		if !p.cfg.ActiveDirectory {
			return p.changePasswordModify(ctx, entry.DN, oldPassword, newPassword)
		}
		req := ldap.NewModifyRequest(entry.DN, nil)
		req.Delete("unicodePwd", []string{adPassword(oldPassword)})
		req.Add("unicodePwd", []string{adPassword(newPassword)})
		err = c.do(ctx, func(l *ldap.Conn) error { return l.Modify(req) })
		if err == nil {
			p.log.InfoContext(ctx, "ldap: password changed", "dn", entry.DN, "url", c.server.url)
			return nil
		}
		return p.changeFailure(ctx, entry.DN, c.server.url, err)
	})
	if err != nil {
		return classify(err)
	}
	return nil
}

// changeFailure turns AD's answer to a refused password change into a
// Failure, or an error matching ErrUnavailable when the fault is not the
// user's.
func (p *Provider) changeFailure(ctx context.Context, dn, url string, err error) error {
	switch {
	case isTransport(err):
		return fmt.Errorf("ldap: change the password of %q: %w", dn, err)
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultConstraintViolation, ldap.LDAPResultUnwillingToPerform):
		f := adChangeFailure(diagnostic(err), err)
		p.log.InfoContext(ctx, "ldap: password change refused", "dn", dn, "reason", f.Reason, "url", url)
		return f
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights):
		p.log.ErrorContext(ctx, `ldap: the service account may not change passwords: grant bind_dn the "Change Password" right on the users`,
			"dn", dn, "bind_dn", p.cfg.BindDN, "url", url, "cause", err.Error())
		return unavailable("ldap: change the password of %q: %w", dn, err)
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired):
		return unavailable("ldap: change the password of %q: the server requires an encrypted connection: %w", dn, err)
	}
	return unavailable("ldap: change the password of %q: %w", dn, err)
}

// adErrorPattern finds the Windows error code that starts AD's diagnostic
// message for a refused modify, e.g. "0000052D: Constraint violation - …"
// or "00000056: AtrErr: DSID-03191083, …".
var adErrorPattern = regexp.MustCompile(`^\s*([0-9A-Fa-f]{8}):`)

// Windows error codes AD gives for a refused password change.
const (
	adInvalidPassword     = "00000056" // ERROR_INVALID_PASSWORD: the old password is wrong
	adWrongPassword       = "0000052b" // ERROR_WRONG_PASSWORD
	adPasswordRestriction = "0000052d" // ERROR_PASSWORD_RESTRICTION: the domain policy
)

// adPolicyTexts tell the policy violations apart. Windows AD reports all
// of them as 0000052D with no more detail, so they fall back to
// ReasonPasswordPolicy there; Samba says which rule failed.
var adPolicyTexts = []struct {
	fragment string
	reason   providers.Reason
}{
	{"too short", providers.ReasonPasswordTooShort},
	{"complexity", providers.ReasonPasswordNotComplex},
	{"history", providers.ReasonPasswordInHistory},
	{"already used", providers.ReasonPasswordInHistory},
	{"too recently", providers.ReasonPasswordTooRecent},
	{"too young", providers.ReasonPasswordTooRecent},
	{"minimum password age", providers.ReasonPasswordTooRecent},
}

// adChangeFailure maps the diagnostic message of a refused unicodePwd
// change. A wrong old password is a wrong password like at sign-in, so it
// counts as a failed login.
func adChangeFailure(diagnostic string, err error) *providers.Failure {
	code := ""
	if m := adErrorPattern.FindStringSubmatch(diagnostic); m != nil {
		code = strings.ToLower(m[1])
	}
	switch code {
	case adInvalidPassword, adWrongPassword:
		return &providers.Failure{Reason: providers.ReasonWrongPassword, Err: wrapBad(err)}
	case adPasswordRestriction:
		f := &providers.Failure{Reason: providers.ReasonPasswordPolicy, Err: fmt.Errorf("%w: %w", providers.ErrPasswordRejected, err)}
		lower := strings.ToLower(diagnostic)
		for _, t := range adPolicyTexts {
			if strings.Contains(lower, t.fragment) {
				f.Reason = t.reason
				break
			}
		}
		return f
	}
	// Anything else is not known to be about the new password: refuse it
	// like a wrong one, so a directory's odd answer never confirms it.
	return &providers.Failure{Reason: providers.ReasonBindRefused, Err: wrapBad(err)}
}

// adPassword encodes a password for unicodePwd: in double quotes, UTF-16LE.
func adPassword(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}
