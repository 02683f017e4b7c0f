package qlik

import (
	"errors"
	"fmt"
	"strings"
)

// Access says who may enter a target. The empty value lets in everyone who
// signed in, as a target without `access:` always has. Group names are
// compared without regard to case (strings.EqualFold), because Active
// Directory and most LDAP servers treat them so and a rule that silently
// missed "sales" for "Sales" would let the wrong people in or keep the
// right ones out.
type Access struct {
	// AllowedGroups, when not empty, lets in only users who belong to at
	// least one of these groups. Names are compared, ignoring case, with the
	// groups as the user's provider reports them: LDAP's
	// group_name_attribute (cn by default), the OIDC groups claim (for
	// Microsoft Entra, group object ids unless the app sends names), a
	// static user's groups.
	AllowedGroups []string `yaml:"allowed_groups"`
	// DeniedGroups keeps out every member of any of these groups, whatever
	// the other rules say. Compared as allowed_groups is.
	DeniedGroups []string `yaml:"denied_groups"`
	// AllowedProviders, when not empty, lets in only users who signed in
	// through one of these providers (their ids under providers:).
	AllowedProviders []string `yaml:"allowed_providers"`
}

// Validate checks the rules on their own; that each provider id exists is
// for whoever knows the providers (the configuration loader).
func (a Access) Validate() error {
	var errs []error
	for _, l := range []struct {
		key   string
		names []string
	}{{"allowed_groups", a.AllowedGroups}, {"denied_groups", a.DeniedGroups}, {"allowed_providers", a.AllowedProviders}} {
		for i, n := range l.names {
			if strings.TrimSpace(n) == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: blank: write a name, or remove the entry", l.key, i))
			}
		}
	}
	return errors.Join(errs...)
}
