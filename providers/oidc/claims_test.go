package oidc

import (
	"slices"
	"testing"
)

func TestClaims(t *testing.T) {
	c, err := decodeClaims([]byte(`{
		"sub": "s1", "oid": 12345678901234567890, "email_verified": "true",
		"groups": ["a", "b", "a", " ", 7, {"x": 1}, null],
		"role": "solo", "null": null,
		"realm_access": {"roles": ["r1", "r2"]},
		"resource_access": {"qlik": {"roles": ["q1"]}},
		"https://example.com/roles": ["ns1"],
		"a.b": "flat wins", "a": {"b": "nested"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	strTests := []struct {
		path, want string
		ok         bool
	}{
		{"sub", "s1", true},
		{"oid", "12345678901234567890", true}, // not 1.2345678901234567e+19
		{"a.b", "flat wins", true},
		{"realm_access", "", false}, // an object is not a string
		{"missing", "", false},
		{"null", "", false},
		{"realm_access.roles.x", "", false},
		{"", "", false},
	}
	for _, tt := range strTests {
		if got, ok := c.str(tt.path); got != tt.want || ok != tt.ok {
			t.Errorf("str(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	listTests := []struct {
		path string
		want []string
	}{
		{"groups", []string{"a", "b", "7"}},
		{"role", []string{"solo"}},
		{"realm_access.roles", []string{"r1", "r2"}},
		{"resource_access.qlik.roles", []string{"q1"}},
		{"https://example.com/roles", []string{"ns1"}},
		{"realm_access", nil},
		{"missing", nil},
	}
	for _, tt := range listTests {
		if got := c.strs(tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("strs(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if v, present := c.boolean("email_verified"); !v || !present {
		t.Errorf(`boolean("email_verified") with "true" = %v, %v`, v, present)
	}
	if v, present := c.boolean("sub"); v || !present {
		t.Errorf(`boolean of a non-boolean = %v, %v; want false, true`, v, present)
	}
	if _, present := c.boolean("nope"); present {
		t.Error("boolean of a missing claim is present")
	}

	c.merge(claims{"sub": "other", "extra": "x"})
	if s, _ := c.str("sub"); s != "s1" {
		t.Error("merge replaced a claim of the ID token")
	}
	if s, _ := c.str("extra"); s != "x" {
		t.Error("merge did not add a missing claim")
	}
}
