package config

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/config/configtest"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik/sense"
)

// validYAML is a minimal good configuration; tests break one thing at a time.
const validYAML = configtest.MinimalYAML

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigErrorsNameTheirKeys(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"unknown key with suggestion", func(s string) string { return strings.Replace(s, "  listen:", "  listne:", 1) },
			[]string{`server.listne: unknown key (did you mean "listen"?)`}},
		{"unknown key in a kind block", func(s string) string { return strings.Replace(s, "      hub_url:", "      hub_ulr:", 1) },
			[]string{`targets[0].sense.hub_ulr: unknown key (did you mean "hub_url"?)`}},
		{"bad duration", func(s string) string {
			return strings.Replace(s, "session:\n", "session:\n  lifetime: 8 hours\n", 1)
		}, []string{`session.lifetime: must be a duration like "90s" or "8h"`}},
		{"missing secret", func(s string) string {
			return strings.Replace(s, `  secret: "0123456789abcdef0123456789abcdef01"`, "", 1)
		}, []string{"session.secret: required"}},
		{"short secret", func(s string) string { return strings.Replace(s, "0123456789abcdef0123456789abcdef01", "short", 1) },
			[]string{"session.secret: 5 bytes is too short"}},
		{"unset environment variable", func(s string) string { return strings.Replace(s, "0123456789abcdef0123456789abcdef01", "${NOPE}", 1) },
			[]string{"session.secret: environment variable NOPE is not set"}},
		{"unknown provider kind", func(s string) string { return strings.Replace(s, "kind: static", "kind: statik", 1) },
			[]string{`providers[0].kind: unknown kind "statik" (known: static, ldap, oidc)`}},
		{"unknown target kind", func(s string) string { return strings.Replace(s, "kind: sense-ticket", "kind: sense-tickets", 1) },
			[]string{`targets[0].kind: unknown kind "sense-tickets"`}},
		{"bad hash and bad QPS URL at once", func(s string) string {
			s = strings.Replace(s, "$argon2id$v=19", "plain", 1)
			return strings.Replace(s, "https://sense.corp.local:4243/qps/hr/", "http://sense.corp.local:4243/qps/hr/", 1)
		}, []string{"providers[0].static.users[0].password_hash: not an argon2id or bcrypt hash", "targets[0].sense.proxy_rest_uri: ", "must use https"}},
		{"no providers, no targets", func(s string) string { return s[:strings.Index(s, "providers:")] },
			[]string{"providers: at least one provider is required", "targets: at least one Qlik target is required"}},
		{"duplicate provider id", func(s string) string {
			i := strings.Index(s, "  - id: local")
			j := strings.Index(s, "targets:")
			return s[:j] + s[i:j] + s[j:]
		}, []string{`providers[1].id: "local" is already used by providers[0]`}},
		{"several targets without a default", func(s string) string {
			i := strings.Index(s, "  - id: sense")
			return s + strings.Replace(s[i:], "id: sense", "id: sense2", 1)
		}, []string{"targets: mark one target `default: true`"}},
		{"bad listen and public_url", func(s string) string {
			s = strings.Replace(s, `"127.0.0.1:0"`, `"8080"`, 1)
			return strings.Replace(s, "https://auth.example.com/", "auth.example.com", 1)
		}, []string{"server.listen: ", "server.public_url: "}},
		{"list where a block is expected", func(s string) string {
			return strings.Replace(s, "session:\n  secret: \"0123456789abcdef0123456789abcdef01\"", "session: [x]", 1)
		},
			[]string{"session: expected a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.edit(validYAML)), t.TempDir(), env(nil))
			if err == nil {
				t.Fatal("bad configuration accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := Parse([]byte(validYAML), t.TempDir(), env(nil)); err != nil {
		t.Fatalf("valid configuration refused: %v", err)
	}
}

func TestConfigEnvAndSecretFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "session.secret"), []byte("from-a-file-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(validYAML, `  secret: "0123456789abcdef0123456789abcdef01"`, "  secret_file: session.secret", 1)
	y = strings.Replace(y, "https://auth.example.com/", "${PUBLIC}", 1)
	c, err := Parse([]byte(y), dir, env(map[string]string{"PUBLIC": "https://login.example.org/qlik/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Session.Secret != "from-a-file-0123456789abcdef0123456789" {
		t.Errorf("secret = %q", c.Session.Secret)
	}
	if c.Server.PublicURL != "https://login.example.org/qlik/" {
		t.Errorf("public_url = %q", c.Server.PublicURL)
	}
	if got, want := c.Targets[0].Config.(*sense.Config).ClientCertFile, filepath.Join(dir, "client.pem"); got != want {
		t.Errorf("client_cert_file = %q, want %q (relative to the config file)", got, want)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	data, err := os.ReadFile("../../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, t.TempDir(), env(map[string]string{
		"QLIKGATE_SESSION_SECRET": strings.Repeat("x", 40), "LDAP_BIND_PASSWORD": "x", "OIDC_SECRET": "x",
		"QLIK_CLOUD_OIDC_SECRET": strings.Repeat("o", 40)}))
	if err != nil {
		t.Fatalf("config.yaml.example does not validate:\n%v", err)
	}
	var kinds []string
	for _, p := range c.Providers {
		kinds = append(kinds, p.Kind.Name)
	}
	for _, t := range c.Targets {
		kinds = append(kinds, t.Kind.Name)
	}
	for _, k := range append(providerKinds.Names(), targetKinds.Names()...) {
		if !slices.Contains(kinds, k) {
			t.Errorf("config.yaml.example has no %s entry", k)
		}
	}
	// The example's hash must parse but match no guessable password.
	p, err := static.Open(context.Background(), c.Providers[0].Common, c.Providers[0].Config.(*static.Config), providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"admin", "password", "change-me", ""} {
		if _, err := p.Login(context.Background(), "admin", pw); err == nil {
			t.Errorf("the example admin accepts %q", pw)
		}
	}
}

// TestConfigMergeKeys: several targets on one Sense site share its block
// with a YAML merge key; what a target writes itself wins.
func TestConfigMergeKeys(t *testing.T) {
	anchored := strings.Replace(validYAML, "    sense:\n", "    default: true\n    sense: &qps\n", 1)
	second := `  - id: finance
    kind: sense-ticket
    sense:
      <<: *qps
      proxy_rest_uri: "https://sense.corp.local:4243/qps/finance/"
      hub_url: "https://sense.corp.local/finance/hub/"
`
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{"merged", anchored + second, ""},
		{"an unknown key beside the merge", anchored + strings.Replace(second, "      hub_url:", "      hub_ulr:", 1),
			`targets[1].sense.hub_ulr: unknown key (did you mean "hub_url"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c, err := Parse([]byte(tt.yaml), dir, env(nil))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hr, fin := c.Targets[0].Config.(*sense.Config), c.Targets[1].Config.(*sense.Config)
			if fin.ProxyRestURI != "https://sense.corp.local:4243/qps/finance/" || fin.HubURL != "https://sense.corp.local/finance/hub/" {
				t.Errorf("finance: proxy_rest_uri %q, hub_url %q: its own keys did not win", fin.ProxyRestURI, fin.HubURL)
			}
			if want := filepath.Join(dir, "client.pem"); fin.ClientCertFile != want || hr.ClientCertFile != want {
				t.Errorf("client_cert_file = %q and %q, want %q for both", hr.ClientCertFile, fin.ClientCertFile, want)
			}
			if hr.ProxyRestURI != "https://sense.corp.local:4243/qps/hr/" {
				t.Errorf("the anchored target changed: proxy_rest_uri %q", hr.ProxyRestURI)
			}
		})
	}
}
