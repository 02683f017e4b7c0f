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
		{UsernameConfig{StripDomain: true}, `corp\b\c`, `b\c`},
		{none, "*)(uid=*", "*)(uid=*"}, // escaped later, in fill
	}
	for _, tt := range tests {
		tt.cfg = tt.cfg.withDomains("CORP", "DC=corp,DC=local")
		if got := tt.cfg.normalize(tt.typed); got.name != tt.out || got.foreign != "" {
			t.Errorf("%+v.normalize(%q) = %+v, want %q", tt.cfg, tt.typed, got, tt.out)
		}
	}
}

// TestForeignDomainsAndRealms: a prefix or suffix of a domain the provider
// does not serve is reported, never silently stripped, and the name it
// aimed at is kept so the attempt counts against that account.
func TestForeignDomainsAndRealms(t *testing.T) {
	both := UsernameConfig{StripDomain: true, StripRealm: true, Case: caseLower}
	tests := []struct {
		name                    string
		cfg                     UsernameConfig
		directory, base         string
		typed, out, wantForeign string
	}{
		{"directory as domain", both, "CORP", "DC=example,DC=org", `CORP\erin`, "erin", ""},
		{"domain in another case", both, "CORP", "DC=example,DC=org", `corp\erin`, "erin", ""},
		{"first DC label as domain", both, "QLIK", "OU=Staff,DC=corp,DC=example", `CORP\erin`, "erin", ""},
		{"foreign domain", both, "CORP", "DC=corp,DC=example", `X\erin`, "erin", `X\`},
		{"realm from the base", both, "CORP", "OU=Staff,DC=corp,DC=example", "erin@corp.example", "erin", ""},
		{"realm in another case", both, "CORP", "DC=corp,DC=example", "erin@CORP.Example", "erin", ""},
		{"foreign realm", both, "CORP", "DC=corp,DC=example", "erin@x", "erin", "@x"},
		{"parent realm is foreign", both, "CORP", "DC=corp,DC=example", "erin@example", "erin", "@example"},
		{"foreign domain and our realm", both, "CORP", "DC=corp,DC=example", `X\erin@corp.example`, "erin", `X\`},
		{"configured domains replace the defaults", UsernameConfig{StripDomain: true, Domains: []string{"ACME"}},
			"CORP", "DC=corp,DC=example", `CORP\erin`, "erin", `CORP\`},
		{"configured domain", UsernameConfig{StripDomain: true, Domains: []string{"ACME"}},
			"CORP", "DC=corp,DC=example", `acme\erin`, "erin", ""},
		{"configured realms", UsernameConfig{StripRealm: true, Realms: []string{"acme.com", "corp.example"}},
			"CORP", "O=Acme", "erin@acme.com", "erin", ""},
		{"realm kept when not stripped", UsernameConfig{StripDomain: true}, "CORP", "DC=corp,DC=example", "erin@x", "erin@x", ""},
		{"domain kept when not stripped", UsernameConfig{}, "CORP", "DC=corp,DC=example", `X\erin`, `X\erin`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.withDomains(tt.directory, tt.base).normalize(tt.typed)
			if got.name != tt.out || got.foreign != tt.wantForeign {
				t.Errorf("normalize(%q) = %+v, want name %q foreign %q", tt.typed, got, tt.out, tt.wantForeign)
			}
		})
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
