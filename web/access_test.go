package web

import (
	"fmt"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

func TestAccessRule(t *testing.T) {
	tests := []struct {
		name     string
		access   qlik.Access
		provider string
		groups   []string
		want     string
	}{
		{"no rules", qlik.Access{}, "corp", nil, ""},
		{"allowed group", qlik.Access{AllowedGroups: []string{"Sales"}}, "corp", []string{"EU", "Sales"}, ""},
		{"allowed group in another case", qlik.Access{AllowedGroups: []string{"SALES"}}, "corp", []string{"sales"}, ""},
		{"allowed group, non-ASCII case", qlik.Access{AllowedGroups: []string{"ÄRENDEN"}}, "corp", []string{"ärenden"}, ""},
		{"in no allowed group", qlik.Access{AllowedGroups: []string{"Sales", "HR"}}, "corp", []string{"EU"}, "not_in_allowed_groups"},
		{"no groups at all", qlik.Access{AllowedGroups: []string{"Sales"}}, "corp", nil, "not_in_allowed_groups"},
		{"a prefix is not the group", qlik.Access{AllowedGroups: []string{"Sales"}}, "corp", []string{"Sales-EU"}, "not_in_allowed_groups"},
		{"denied group", qlik.Access{DeniedGroups: []string{"Contractors"}}, "corp", []string{"contractors"}, "denied_group=Contractors"},
		{"denied wins over allowed", qlik.Access{AllowedGroups: []string{"Sales"}, DeniedGroups: []string{"Interns"}}, "corp", []string{"Sales", "Interns"}, "denied_group=Interns"},
		{"denied wins over the provider rule", qlik.Access{AllowedProviders: []string{"corp"}, DeniedGroups: []string{"Interns"}}, "other", []string{"Interns"}, "denied_group=Interns"},
		{"not in a denied group", qlik.Access{DeniedGroups: []string{"Interns"}}, "corp", []string{"Sales"}, ""},
		{"allowed provider", qlik.Access{AllowedProviders: []string{"entra", "corp"}}, "corp", nil, ""},
		{"provider not allowed", qlik.Access{AllowedProviders: []string{"corp"}}, "entra", []string{"Sales"}, "provider_not_allowed"},
		{"provider ids are exact", qlik.Access{AllowedProviders: []string{"corp"}}, "CORP", nil, "provider_not_allowed"},
		{"provider named before groups", qlik.Access{AllowedProviders: []string{"corp"}, AllowedGroups: []string{"Sales"}}, "entra", nil, "provider_not_allowed"},
		{"both allowed", qlik.Access{AllowedProviders: []string{"corp"}, AllowedGroups: []string{"Sales"}}, "corp", []string{"Sales"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accessRule(tt.access, tt.provider, tt.groups); got != tt.want {
				t.Errorf("accessRule = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCheckAccess: rules the loader should have refused stop web.New,
// rather than keeping everyone out (or no one) silently.
func TestCheckAccess(t *testing.T) {
	targets := map[string]qlik.Target{"sense": nil}
	provs := []Provider{{Common: providers.Common{ID: "corp"}}}
	tests := []struct {
		name   string
		access map[string]qlik.Access
		want   string
	}{
		{"none", nil, ""},
		{"known target and provider", map[string]qlik.Access{"sense": {AllowedProviders: []string{"corp"}}}, ""},
		{"unknown target", map[string]qlik.Access{"sens": {}}, `web: access rules for target "sens", which is not among the targets`},
		{"unknown provider", map[string]qlik.Access{"sense": {AllowedProviders: []string{"entra"}}}, `web: target "sense": allowed_providers names "entra", which is not among the providers`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkAccess(tt.access, targets, provs)
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("checkAccess = %v, want %q", err, tt.want)
			}
		})
	}
}
