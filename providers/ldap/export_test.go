package ldap

import (
	"testing"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// For the external tests (package ldap_test), which share this package's
// one Samba.
func NeedSamba(t testing.TB) *ldaptest.Samba { return needSamba(t) }

// SambaConfig is the Active Directory preset over LDAPS for s.
func SambaConfig(s *ldaptest.Samba, mods ...func(*Config)) Config { return sambaConfig(s, mods...) }
