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

// NeedSlapd returns this package's one slapd, with the ppolicy overlay.
func NeedSlapd(t testing.TB) *ldaptest.Slapd { return needSlapd(t) }

// SlapdConfig is a working configuration for s over plain LDAP.
func SlapdConfig(s *ldaptest.Slapd, mods ...func(*Config)) Config { return slapdConfig(s, mods...) }
