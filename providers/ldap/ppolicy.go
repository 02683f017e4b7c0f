package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers"
)

// OpenLDAP's ppolicy overlay (draft-behera-ldap-password-policy) says why
// a bind or a password change was refused in a response control, and only
// to a client that sent the control with its request. A directory without
// the overlay ignores the control, which is not critical.

// policyResult is what ppolicy said about one operation, or nil.
func policyResult(err error, controls []ldap.Control) *ldap.ControlBeheraPasswordPolicy {
	// go-ldap drops the controls of a failed extended operation, but the
	// error keeps the whole response.
	var le *ldap.Error
	if errors.As(err, &le) && le.Packet != nil && len(le.Packet.Children) > 2 {
		for _, child := range le.Packet.Children[2].Children {
			if c, derr := ldap.DecodeControl(child); derr == nil {
				controls = append(controls, c)
			}
		}
	}
	if c, ok := ldap.FindControl(controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy); ok {
		return c
	}
	return nil
}

// policyBind refines the outcome of a user bind by what ppolicy said:
// bindErr is the bind's error (nil when the directory accepted it) and
// failure its Failure when it was a refused one (result 49).
//
// A user whose password an administrator reset (pwdReset) binds, but may
// do nothing but change the password: that bind must not sign them in. An
// expired password binds only while grace logins remain (pwdGraceAuthNLimit);
// with password_change on, such a login is turned into the change page as
// long as one grace login is left for the change itself. Without any, the
// user cannot bind to change it, so the reason is not one that offers the
// change page. ppolicy only says any of this after the right password.
func (p *Provider) policyBind(pp *ldap.ControlBeheraPasswordPolicy, bindErr error, failure *providers.Failure) *providers.Failure {
	if pp == nil || p.cfg.ActiveDirectory {
		return failure
	}
	changeURL := p.cfg.PasswordChangeURL
	switch {
	case bindErr == nil && pp.Error == ldap.BeheraChangeAfterReset:
		return &providers.Failure{Reason: providers.ReasonPasswordMustChange, UserText: expiredText(changeURL), ChangeURL: changeURL,
			Err: fmt.Errorf("%w: the password was reset and must be changed (ppolicy pwdReset)", providers.ErrBadCredentials)}
	case bindErr == nil && pp.Grace > 0 && p.cfg.PasswordChange.Enabled:
		return &providers.Failure{Reason: providers.ReasonPasswordExpired, UserText: expiredText(changeURL), ChangeURL: changeURL,
			Err: fmt.Errorf("%w: the password has expired (ppolicy, %d grace logins left)", providers.ErrBadCredentials, pp.Grace)}
	case bindErr != nil && pp.Error == ldap.BeheraPasswordExpired:
		return &providers.Failure{Reason: reasonExpiredNoGrace, UserText: expiredText(changeURL), ChangeURL: changeURL, Err: wrapBad(bindErr)}
	case bindErr != nil && pp.Error == ldap.BeheraAccountLocked:
		// Like AD's 775: not told, since it may not need the password.
		return &providers.Failure{Reason: providers.ReasonAccountLocked, Err: wrapBad(bindErr)}
	}
	return failure
}

// reasonExpiredNoGrace is an expired OpenLDAP password with no grace login
// left: the user cannot bind, so cannot change it as themselves either.
const reasonExpiredNoGrace = providers.ReasonPasswordExpired + "_no_grace"

// passwordModify changes the password of the user the connection is bound
// as (RFC 3062 with no user identity), asking ppolicy to say why it
// refuses one.
func passwordModify(l *ldap.Conn, oldPassword, newPassword string) error {
	value := ber.Encode(ber.ClassContext, ber.TypePrimitive, 1, nil, "Extended Request Value: Password Modify Request")
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Password Modify Request")
	seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, oldPassword, "Old Password"))
	seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 2, newPassword, "New Password"))
	value.AppendChild(seq)
	req := ldap.NewExtendedRequest(passwordModifyOID, value)
	req.Controls = []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}
	_, err := l.Extended(req)
	return err
}

const passwordModifyOID = "1.3.6.1.4.1.4203.1.11.1"

// ppolicyTexts tell the refusals apart by slapd's message when the
// response control is missing (a proxy that strips it, another server).
var ppolicyTexts = []struct {
	fragment string
	reason   providers.Reason
}{
	{"too short", providers.ReasonPasswordTooShort},
	{"quality", providers.ReasonPasswordNotComplex},
	{"in history", providers.ReasonPasswordInHistory},
	{"not being changed from existing value", providers.ReasonPasswordInHistory},
	{"too young", providers.ReasonPasswordTooRecent},
}

// ppolicyChangeFailure maps a refused Password Modify. The current password
// was accepted by the bind just before, so a refusal is about the new one,
// except where slapd says it could not verify the old one.
func ppolicyChangeFailure(pp *ldap.ControlBeheraPasswordPolicy, err error) error {
	rejected := func(r providers.Reason) error {
		return &providers.Failure{Reason: r, Err: fmt.Errorf("%w: %w", providers.ErrPasswordRejected, err)}
	}
	if pp != nil {
		switch pp.Error {
		case ldap.BeheraPasswordTooShort:
			return rejected(providers.ReasonPasswordTooShort)
		case ldap.BeheraInsufficientPasswordQuality:
			return rejected(providers.ReasonPasswordNotComplex)
		case ldap.BeheraPasswordInHistory:
			return rejected(providers.ReasonPasswordInHistory)
		case ldap.BeheraPasswordTooYoung:
			return rejected(providers.ReasonPasswordTooRecent)
		case ldap.BeheraPasswordModNotAllowed:
			return unavailable("ldap: the password policy does not let users change their password: set pwdAllowUserChange: TRUE: %w", err)
		}
	}
	diag := strings.ToLower(diagnostic(err))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultConstraintViolation):
		for _, t := range ppolicyTexts {
			if strings.Contains(diag, t.fragment) {
				return rejected(t.reason)
			}
		}
		return rejected(providers.ReasonPasswordPolicy)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform) && strings.Contains(diag, "old password"):
		return &providers.Failure{Reason: providers.ReasonWrongPassword, Err: wrapBad(err)}
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights):
		return unavailable("ldap: the directory does not let users write their own password: add an ACL `access to attrs=userPassword by self write`: %w", err)
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired):
		return unavailable("ldap: the server requires an encrypted connection: %w", err)
	}
	return unavailable("ldap: password modify: %w", err)
}

// changePasswordModify changes an OpenLDAP user's password as the user:
// a bind with the current password (which ppolicy allows a reset user,
// restricted to changing it, and an expired one while grace logins
// remain), then the Password Modify extended operation on that connection,
// for which ppolicy applies its quality checks (pwdMinLength,
// pwdCheckQuality, pwdInHistory, pwdMinAge). The service account never
// writes a password.
func (p *Provider) changePasswordModify(ctx context.Context, dn, oldPassword, newPassword string) error {
	return p.binds.run(ctx, func(c *conn) error {
		if _, err := p.bindOn(ctx, c, dn, oldPassword); err != nil {
			var f *providers.Failure
			if errors.As(err, &f) && f.Reason == reasonExpiredNoGrace {
				p.log.WarnContext(ctx, "ldap: an expired password cannot be changed without a grace login (pwdGraceAuthNLimit)", "dn", dn, "url", c.server.url)
			}
			return err
		}
		var pp *ldap.ControlBeheraPasswordPolicy
		err := c.do(ctx, func(l *ldap.Conn) error {
			err := passwordModify(l, oldPassword, newPassword)
			pp = policyResult(err, nil)
			return err
		})
		switch {
		case err == nil:
			p.log.InfoContext(ctx, "ldap: password changed", "dn", dn, "url", c.server.url)
			return nil
		case isTransport(err):
			return fmt.Errorf("ldap: change the password of %q: %w", dn, err)
		}
		ferr := ppolicyChangeFailure(pp, err)
		if errors.Is(ferr, providers.ErrUnavailable) {
			p.log.ErrorContext(ctx, "ldap: password change failed", "dn", dn, "url", c.server.url, "cause", ferr.Error())
		} else {
			p.log.InfoContext(ctx, "ldap: password change refused", "dn", dn, "reason", failureReason(ferr), "url", c.server.url)
		}
		return ferr
	})
}

func failureReason(err error) providers.Reason {
	var f *providers.Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return ""
}
