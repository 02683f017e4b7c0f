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

// MethodTOTP is the one method of this version. "webauthn" is a known name
// that is refused until it is implemented, rather than accepted and ignored.
const (
	MethodTOTP     = "totp"
	methodWebAuthn = "webauthn"
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
	// Methods are the second factors offered: totp. webauthn is not yet
	// supported and refused.
	Methods []string `yaml:"methods"`
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
		errs = append(errs, errors.New("methods: at least one is needed: totp"))
	}
	for i, m := range p.Methods {
		switch m {
		case MethodTOTP:
		case methodWebAuthn:
			errs = append(errs, fmt.Errorf("methods[%d]: webauthn is not yet supported in this version: use totp", i))
		default:
			errs = append(errs, fmt.Errorf("methods[%d]: %q is not a method: use totp", i, m))
		}
	}
	if len(p.IssuerName) > 64 || strings.ContainsAny(p.IssuerName, ":\r\n") {
		errs = append(errs, fmt.Errorf("issuer_name: %q must be at most 64 characters without ':' (authenticator apps split the label there)", p.IssuerName))
	}
	return errors.Join(errs...)
}

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
