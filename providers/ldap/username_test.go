package ldap

import (
	"strings"
	"testing"
)

func TestNormalizeUsername(t *testing.T) {
	all := UsernameConfig{StripDomain: true, StripRealm: true, Case: caseLower}
	none := UsernameConfig{Case: casePreserve}
	tests := []struct {
		cfg        UsernameConfig
		typed, out string
	}{
		{all, "alice", "alice"},
		{all, "  Alice ", "alice"},
		{all, `CORP\Alice`, "alice"},
		{all, "Alice@corp.local", "alice"},
		{all, `CORP\alice@corp.local`, "alice"},
		{all, `CORP\`, ""},
		{all, "@corp.local", "@corp.local"}, // nothing before the @: not a realm
		{all, "", ""},
		{all, "ali\x00ce", ""},
		{all, "ali\nce", ""},
		{all, strings.Repeat("a", maxUsername+1), ""},
		{none, `CORP\Alice`, `CORP\Alice`},
		{none, "Alice@corp.local", "Alice@corp.local"},
		{UsernameConfig{Case: caseUpper}, "alice", "ALICE"},
		{UsernameConfig{StripDomain: true}, `a\b\c`, `b\c`},
		{none, "*)(uid=*", "*)(uid=*"}, // escaped later, in fill
	}
	for _, tt := range tests {
		if got := tt.cfg.normalize(tt.typed); got != tt.out {
			t.Errorf("%+v.normalize(%q) = %q, want %q", tt.cfg, tt.typed, got, tt.out)
		}
	}
}

func TestFillEscapesOnce(t *testing.T) {
	got := fill("(&(uid={username})(member={dn}))", `a*b(c)\d`, `cn=x\,y,dc=z`)
	want := `(&(uid=a\2ab\28c\29\5cd)(member=cn=x\5c,y,dc=z))`
	if got != want {
		t.Errorf("fill = %s, want %s", got, want)
	}
	// A value that looks like a placeholder is not substituted again.
	if got := fill("(uid={username})", "{dn}", "cn=admin"); got != "(uid={dn})" {
		t.Errorf("fill = %s", got)
	}
}
