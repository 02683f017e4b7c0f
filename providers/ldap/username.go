package ldap

import (
	"strings"
	"unicode"
)

// maxUsername bounds what goes into a filter; directory names are far shorter.
const maxUsername = 256

// normalize turns what the user typed into the value searched for, or ""
// when it cannot be a username (empty, too long, control characters), in
// which case the login fails without asking the server.
func (u UsernameConfig) normalize(typed string) string {
	s := strings.TrimSpace(typed)
	if u.StripDomain {
		// "CORP\alice" → "alice". Only the first backslash separates a domain:
		// a backslash in the name itself stays and is escaped in the filter.
		if i := strings.IndexByte(s, '\\'); i > 0 {
			s = s[i+1:]
		}
	}
	if u.StripRealm {
		if i := strings.LastIndexByte(s, '@'); i > 0 {
			s = s[:i]
		}
	}
	s = applyCase(u.Case, strings.TrimSpace(s))
	if s == "" || len(s) > maxUsername || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return ""
	}
	return s
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
