package ldap

import (
	"slices"
	"strings"
	"unicode"

	"github.com/go-ldap/ldap/v3"
)

// maxUsername bounds what goes into a filter; directory names are far shorter.
const maxUsername = 256

// lookup is what a typed username becomes: the value searched for, and
// whether it named a domain or realm this provider does not serve.
type lookup struct {
	name    string // "" when it cannot be a username
	foreign string // the refused "DOMAIN\" or "@realm", "" when none
}

// normalize turns what the user typed into the value searched for. A name
// that cannot be a username (empty, too long, control characters) gives ""
// and the login fails without asking the server. A domain or realm outside
// domains and realms is reported in foreign, with name still set, so the
// refused attempt is counted against the account it aimed at.
func (u UsernameConfig) normalize(typed string) lookup {
	var l lookup
	s := strings.TrimSpace(typed)
	if u.StripDomain {
		// "CORP\alice" → "alice". Only the first backslash separates a domain:
		// a backslash in the name itself stays and is escaped in the filter.
		if i := strings.IndexByte(s, '\\'); i > 0 {
			if !containsFold(u.Domains, s[:i]) {
				l.foreign = s[:i+1]
			}
			s = s[i+1:]
		}
	}
	if u.StripRealm {
		if i := strings.LastIndexByte(s, '@'); i > 0 {
			if !containsFold(u.Realms, s[i+1:]) && l.foreign == "" {
				l.foreign = s[i:]
			}
			s = s[:i]
		}
	}
	s = applyCase(u.Case, strings.TrimSpace(s))
	if s == "" || len(s) > maxUsername || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return lookup{}
	}
	l.name = s
	return l
}

// withDomains fills domains and realms left empty with what the directory
// and the user base imply: the directory (often the NetBIOS domain name),
// the first DC= label of user_base, and its DC= labels joined as a DNS name.
func (u UsernameConfig) withDomains(directory, userBase string) UsernameConfig {
	dcs := dcLabels(userBase)
	if len(u.Domains) == 0 {
		if directory != "" {
			u.Domains = append(u.Domains, directory)
		}
		if len(dcs) > 0 && !containsFold(u.Domains, dcs[0]) {
			u.Domains = append(u.Domains, strings.ToUpper(dcs[0]))
		}
	}
	if len(u.Realms) == 0 && len(dcs) > 0 {
		u.Realms = []string{strings.Join(dcs, ".")}
	}
	return u
}

// dcLabels returns the values of the DC= components of dn, in order.
func dcLabels(dn string) []string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return nil
	}
	var out []string
	for _, rdn := range parsed.RDNs {
		for _, a := range rdn.Attributes {
			if strings.EqualFold(a.Type, "dc") && a.Value != "" {
				out = append(out, a.Value)
			}
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func applyCase(mode, s string) string {
	switch mode {
	case caseLower:
		return strings.ToLower(s)
	case caseUpper:
		return strings.ToUpper(s)
	}
	return s
}
