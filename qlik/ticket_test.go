package qlik

import (
	"strings"
	"testing"
)

func TestEmbedOriginsValidated(t *testing.T) {
	for _, tc := range []struct {
		origin string
		want   string // "" means valid
	}{
		{"https://portal.corp.local", ""},
		{"https://portal.corp.local:8443", ""},
		{"http://localhost:3000", ""},
		{"https://[::1]:8443", ""},
		{"https://portal.corp.local/", "has a path"},
		{"https://portal.corp.local/mashup", "has a path"},
		{"https://portal.corp.local?x=1", "has a path"},
		{"https://portal.corp.local#x", "has a path"},
		{"portal.corp.local", "must start with https:// or http://"},
		{"ftp://portal.corp.local", "must start with https:// or http://"},
		{"https://", "has no host"},
		{"https://user@portal.corp.local", "is not an origin"},
		{"https://*.corp.local", "wildcard"},
		{"https://portal.corp.local:99999", "invalid port"},
		{"null", "must start with"},
		{"*", "must start with"},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			err := Common{ID: "sense", Kind: "sense-ticket", EmbedOrigins: []string{"https://ok.example.com", tc.origin}}.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "embed_origins[1]") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an error naming embed_origins[1] and saying %q", err, tc.want)
			}
		})
	}
}
