package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/keyerr"
)

// withAccess puts an access block (YAML lines at the target's indent) in
// the minimal configuration's target.
func withAccess(block string) string {
	return strings.Replace(validYAML, "    kind: sense-ticket\n", "    kind: sense-ticket\n"+block, 1)
}

func TestAccessConfigErrorsNameTheirKeys(t *testing.T) {
	tests := []struct {
		name  string
		block string
		want  []string
	}{
		{"unknown provider", "    access: {allowed_providers: [local, corp]}\n",
			[]string{`targets[0].access.allowed_providers[1]: "corp" is not the id of a provider (they are: local)`}},
		{"provider ids are exact", "    access: {allowed_providers: [Local]}\n",
			[]string{`targets[0].access.allowed_providers[0]: "Local" is not the id of a provider`}},
		{"blank groups and provider", "    access: {allowed_groups: [Sales, \"\"], denied_groups: [\"  \"], allowed_providers: [\"\"]}\n",
			[]string{
				"targets[0].access.allowed_groups[1]: blank",
				"targets[0].access.denied_groups[0]: blank",
				"targets[0].access.allowed_providers[0]: blank",
			}},
		{"unknown key", "    access: {allowed_group: [Sales]}\n",
			[]string{`targets[0].access.allowed_group: unknown key (did you mean "allowed_groups"?)`}},
		{"a group that is not a list", "    access: {denied_groups: Interns}\n",
			[]string{"targets[0].access.denied_groups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(withAccess(tt.block)), t.TempDir(), env(nil))
			if err == nil {
				t.Fatal("bad access rules accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			// A blank provider is reported once, as blank, not also as unknown.
			for _, e := range keyerr.List(err) {
				if strings.Contains(e.Error(), `"" is not the id`) {
					t.Errorf("a blank provider is also reported as unknown: %v", e)
				}
			}
		})
	}
}

func TestAccessConfigReachesTheServer(t *testing.T) {
	c, err := Parse([]byte(withAccess("    access:\n      allowed_groups: [Sales, HR]\n      denied_groups: [Interns]\n      allowed_providers: [local]\n")), t.TempDir(), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := c.TargetAccess()["sense"]
	if !ok || !slices.Equal(a.AllowedGroups, []string{"Sales", "HR"}) || !slices.Equal(a.DeniedGroups, []string{"Interns"}) || !slices.Equal(a.AllowedProviders, []string{"local"}) {
		t.Errorf("TargetAccess = %+v", c.TargetAccess())
	}
}
