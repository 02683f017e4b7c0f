package mfa

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Modes of the mfa block.
const (
	ModeOff      = "off"
	ModeOptional = "optional"
	ModeRequired = "required"
)

// The second factors: TOTP codes and passkeys (WebAuthn).
const (
	MethodTOTP     = "totp"
	MethodWebAuthn = "webauthn"
)

// Policy is a password provider's `mfa:` block.
type Policy struct {
	// Mode is off (no second factor), optional (users may enrol on the
	// Security page; an enrolled user is asked for a code) or required
	// (every user, or every member of required_groups, must pass a second
	// factor, and one not yet enrolled is sent to enrolment right after
	// the password).
	Mode string `yaml:"mode"`
	// RequiredGroups limits required to members of these groups (as the
	// provider names them, compared without case). Empty: everybody.
	RequiredGroups []string `yaml:"required_groups"`
	// Methods are the second factors offered: totp (an authenticator app)
	// and webauthn (passkeys and security keys). A user with both picks
	// one at each sign-in.
	Methods []string `yaml:"methods"`
	// Passwordless lets a user with a passkey sign in with it alone
	// (discoverable passkey, with user verification: PIN or biometrics)
	// instead of username and password, straight to Qlik. Needs webauthn
	// in methods, and a provider that can look a user up without a
	// password (static; ldap with a service account).
	Passwordless bool `yaml:"passwordless"`
	// IssuerName is the name authenticator apps show beside the account.
	// Empty: ui.title.
	IssuerName string `yaml:"issuer_name"`
}

// DefaultPolicy is the mfa block's default: no second factor.
func DefaultPolicy() Policy { return Policy{Mode: ModeOff, Methods: []string{MethodTOTP}} }

// Validate checks the block; each error names its key.
func (p Policy) Validate() error {
	var errs []error
	switch p.Mode {
	case ModeOff, ModeOptional, ModeRequired:
	default:
		errs = append(errs, fmt.Errorf("mode: %q is not supported: use off, optional or required", p.Mode))
	}
	if len(p.RequiredGroups) > 0 && p.Mode != ModeRequired {
		errs = append(errs, fmt.Errorf("required_groups: set, but mode is %q: they only apply with mode: required", p.Mode))
	}
	for i, g := range p.RequiredGroups {
		if strings.TrimSpace(g) == "" {
			errs = append(errs, fmt.Errorf("required_groups[%d]: empty group name", i))
		}
	}
	if p.Mode != ModeOff && len(p.Methods) == 0 {
		errs = append(errs, errors.New("methods: at least one is needed: totp, webauthn"))
	}
	for i, m := range p.Methods {
		switch m {
		case MethodTOTP, MethodWebAuthn:
			if slices.Index(p.Methods, m) != i {
				errs = append(errs, fmt.Errorf("methods[%d]: %s is listed twice", i, m))
			}
		default:
			errs = append(errs, fmt.Errorf("methods[%d]: %q is not a method: use totp or webauthn", i, m))
		}
	}
	if p.Passwordless && (!p.Enabled() || !p.Offers(MethodWebAuthn)) {
		errs = append(errs, errors.New("passwordless: needs mode optional or required and webauthn in methods"))
	}
	if len(p.IssuerName) > 64 || strings.ContainsAny(p.IssuerName, ":\r\n") {
		errs = append(errs, fmt.Errorf("issuer_name: %q must be at most 64 characters without ':' (authenticator apps split the label there)", p.IssuerName))
	}
	return errors.Join(errs...)
}

// Offers reports whether the policy offers method (with a mode not off).
func (p Policy) Offers(method string) bool { return p.Enabled() && slices.Contains(p.Methods, method) }

// Enabled reports whether users of the provider may have a second factor.
func (p Policy) Enabled() bool { return p.Mode == ModeOptional || p.Mode == ModeRequired }

// Requires reports whether a user in these groups must pass a second
// factor even before enrolling one.
func (p Policy) Requires(groups []string) bool {
	if p.Mode != ModeRequired {
		return false
	}
	if len(p.RequiredGroups) == 0 {
		return true
	}
	return slices.ContainsFunc(groups, func(g string) bool {
		return slices.ContainsFunc(p.RequiredGroups, func(r string) bool { return strings.EqualFold(r, g) })
	})
}
