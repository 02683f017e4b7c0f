package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik/cloud"
)

// cloudTarget is a second target of kind cloud with the qlik-embed keys
// given by extra (indented for the cloud block).
func cloudTarget(extra string) string {
	base := validYAML
	if !strings.Contains(base, "default: true") {
		base = strings.Replace(base, "  - id: sense\n", "  - id: sense\n    default: true\n", 1)
	}
	return base + `  - id: cloud
    kind: cloud
    embed_origins: ["https://portal.example.com"]
    cloud:
      tenant_url: "https://acme.eu.qlikcloud.com"
      web_integration_id: "wi-1"
      issuer: "auth.example.com"
      key_id: "k1"
      private_key_file: jwt.pem
` + extra
}

func TestCloudEmbedKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "embed.secret"), []byte("embed-secret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(cloudTarget(`      oauth_client_id: "embed-1"
      oauth_client_secret_file: embed.secret
      admin_client_id: "admin-1"
      admin_client_secret: "${ADMIN_SECRET}"
`)), dir, env(map[string]string{"ADMIN_SECRET": "admin-secret-from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Targets[1].Config.(*cloud.Config).Embed
	if e.OAuthClientID != "embed-1" || e.OAuthClientSecret != "embed-secret-from-file" || e.AdminClientSecret != "admin-secret-from-env" ||
		e.AdminScope != "admin_classic" || e.TokenCacheSize != 10000 {
		t.Errorf("embed keys %+v", e)
	}
	if got := c.TargetEmbedOrigins()["cloud"]; len(got) != 1 || got[0] != "https://portal.example.com" {
		t.Errorf("embed_origins %v", got)
	}

	for _, tt := range []struct {
		name, extra, want string
	}{
		{"secret missing", "      oauth_client_id: \"embed-1\"\n", "targets[1].cloud.oauth_client_secret: required with oauth_client_id"},
		{"admin without embed", "      admin_client_id: \"a\"\n      admin_client_secret: \"s\"\n", "targets[1].cloud.admin_client_id: set only with oauth_client_id"},
		{"secret twice", "      oauth_client_id: \"e\"\n      oauth_client_secret: \"s\"\n      oauth_client_secret_file: embed.secret\n", "targets[1].cloud.oauth_client_secret: set either oauth_client_secret or oauth_client_secret_file, not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(cloudTarget(tt.extra)), dir, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}
