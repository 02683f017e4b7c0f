package ldap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
)

func validConfig(mods ...func(*Config)) *Config {
	c := NewConfig()
	c.URLs = []string{"ldaps://dc1.corp.local", "ldaps://dc2.corp.local:3269"}
	c.BindDN, c.BindPassword = "CN=svc,DC=corp,DC=local", "secret"
	c.UserBase = "DC=corp,DC=local"
	for _, m := range mods {
		m(c)
	}
	return c
}

func TestValidateAccepts(t *testing.T) {
	for name, c := range map[string]*Config{
		"OpenLDAP defaults": validConfig(),
		"AD preset":         validConfig(func(c *Config) { c.ActiveDirectory = true }),
		"anonymous search": validConfig(func(c *Config) {
			c.BindDN, c.BindPassword, c.AnonymousSearch = "", "", true
		}),
		"StartTLS":                   validConfig(func(c *Config) { c.URLs, c.StartTLS = []string{"ldap://dc1:389"}, true }),
		"password change over LDAPS": validConfig(func(c *Config) { c.ActiveDirectory, c.PasswordChange.Enabled = true, true }),
		"OpenLDAP password change":   validConfig(func(c *Config) { c.PasswordChange.Enabled = true }),
		"password change with StartTLS": validConfig(func(c *Config) {
			c.URLs, c.StartTLS, c.ActiveDirectory, c.PasswordChange.Enabled = []string{"ldap://dc1:389"}, true, true, true
		}),
		"nested by memberOf": validConfig(func(c *Config) {
			on := true
			c.NestedGroups, c.MemberOfAttribute = &on, "memberOf"
		}),
		"posix groups by username": validConfig(func(c *Config) {
			c.GroupBase, c.GroupFilter = "ou=groups,dc=x", "(&(objectClass=posixGroup)(memberUid={username}))"
		}),
		"OID attribute": validConfig(func(c *Config) { c.Attributes = map[string]string{"2.5.4.11": "OU"} }),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestValidateRejects checks that each problem is reported with its key.
func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no urls", func(c *Config) { c.URLs = nil }, "urls: at least one server"},
		{"bad scheme", func(c *Config) { c.URLs = []string{"ldaps://ok", "http://dc1"} }, "urls[1]: \"http://dc1\": the scheme must be ldap:// or ldaps://"},
		{"no host", func(c *Config) { c.URLs = []string{"ldap://"} }, "urls[0]: \"ldap://\" has no host"},
		{"base DN in URL", func(c *Config) { c.URLs = []string{"ldap://dc1/dc=corp"} }, "urls[0]: \"ldap://dc1/dc=corp\": only scheme, host and port"},
		{"bad port", func(c *Config) { c.URLs = []string{"ldap://dc1:99999"} }, "urls[0]:"},
		{"StartTLS on ldaps", func(c *Config) { c.StartTLS = true }, "urls[0]: \"ldaps://dc1.corp.local\" is ldaps://"},
		{"no bind_dn", func(c *Config) { c.BindDN, c.BindPassword = "", "" }, "bind_dn: required"},
		{"empty bind_password", func(c *Config) { c.BindPassword = "" }, "bind_password: required with bind_dn"},
		{"anonymous and bind_dn", func(c *Config) { c.AnonymousSearch = true }, "anonymous_search: cannot be combined with bind_dn"},
		{"no user_base", func(c *Config) { c.UserBase = "" }, "user_base: required"},
		{"bad user_base", func(c *Config) { c.UserBase = "not a dn" }, "user_base: \"not a dn\" is not a DN"},
		{"filter without placeholder", func(c *Config) { c.UserFilter = "(uid=alice)" }, "user_filter: \"(uid=alice)\" must contain {username}"},
		{"unknown placeholder", func(c *Config) { c.UserFilter = "(uid={user})" }, "user_filter: \"(uid={user})\": unknown placeholder {user}"},
		{"broken filter", func(c *Config) { c.UserFilter = "(uid={username}" }, "user_filter: \"(uid={username}\" is not a valid LDAP filter"},
		{"group filter without placeholder", func(c *Config) { c.GroupBase, c.GroupFilter = "ou=g,dc=x", "(cn=all)" }, "group_filter: \"(cn=all)\" must contain {dn} or {username}"},
		{"bad group_base", func(c *Config) { c.GroupBase = "=" }, "group_base:"},
		{"bad attribute", func(c *Config) { c.UserIDAttribute = "s AM" }, "user_id_attribute: \"s AM\" is not an LDAP attribute name"},
		{"bad mapped attribute", func(c *Config) { c.Attributes = map[string]string{"dept;x": "Dept"} }, "attributes.dept;x:"},
		{"empty Qlik attribute", func(c *Config) { c.Attributes = map[string]string{"department": " "} }, "attributes.department: the Qlik attribute name is empty"},
		{"nested without source", func(c *Config) { on := true; c.NestedGroups = &on }, "nested_groups: needs a group source"},
		{"bad case", func(c *Config) { c.UserIDCase = "title" }, "user_id_case: \"title\" is not allowed"},
		{"bad username case", func(c *Config) { c.Username.Case = "LOWER" }, "username.case: \"LOWER\" is not allowed"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "timeout: must be a positive duration"},
		{"dial longer than timeout", func(c *Config) { c.DialTimeout = time.Minute }, "dial_timeout: 1m0s is longer than timeout"},
		{"negative backoff", func(c *Config) { c.ServerBackoff = -time.Second }, "server_backoff: must not be negative"},
		{"pool too big", func(c *Config) { c.PoolSize = 5000 }, "pool_size: 5000 is not allowed"},
		{"password change over plain LDAP", func(c *Config) {
			c.URLs, c.ActiveDirectory, c.PasswordChange.Enabled = []string{"ldaps://dc1", "ldap://dc2"}, true, true
		}, `password_change.enabled: needs TLS to every server, but urls[1] "ldap://dc2" is plain ldap://: use ldaps:// or start_tls: true`},
		{"OpenLDAP password change over plain LDAP", func(c *Config) {
			c.URLs, c.PasswordChange.Enabled = []string{"ldap://ldap1"}, true
		}, `password_change.enabled: needs TLS to every server, but urls[0] "ldap://ldap1" is plain ldap://`},
		{"relative change URL", func(c *Config) { c.PasswordChangeURL = "/change" }, "password_change_url: \"/change\" must be an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validConfig(tt.mod).Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestValidateReportsEverything: one error per problem, not just the first.
func TestValidateReportsEverything(t *testing.T) {
	c := &Config{}
	err := c.Validate()
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, key := range []string{"urls:", "bind_dn:", "user_base:", "timeout:", "dial_timeout:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("no error for %s in:\n%v", key, err)
		}
	}
}

// TestOpenNeedsNoNetwork: Open succeeds for servers that do not exist, and
// reports an unreadable ca_file by its key.
func TestOpenNeedsNoNetwork(t *testing.T) {
	cfg := *validConfig(func(c *Config) { c.URLs = []string{"ldaps://no-such-host.invalid"} })
	p, err := Open(context.Background(), providers.Common{ID: "corp"}, &cfg, providers.Env{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_ = p.Close()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{filepath.Join(dir, "missing.pem"): "ca_file: open", notPEM: "ca_file: " + notPEM + " contains no PEM certificate"} {
		cfg.CAFile = file
		if _, err := Open(context.Background(), providers.Common{ID: "corp"}, &cfg, providers.Env{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open with ca_file %s = %v, want %q", file, err, want)
		}
	}
}

// TestKind: the registered kind decodes into this package's Config and opens a Provider.
func TestKind(t *testing.T) {
	cfg := Kind.NewConfig()
	c, ok := cfg.(*Config)
	if !ok || Kind.Name != "ldap" || Kind.ConfigKey != "ldap" {
		t.Fatalf("Kind = %+v, config %T", Kind, cfg)
	}
	*c = *validConfig()
	got, err := Kind.Open(context.Background(), providers.Common{ID: "corp"}, c, providers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(providers.PasswordProvider); !ok {
		t.Fatalf("Open returned %T, not a PasswordProvider", got)
	}
	_ = got.(*Provider).Close()
}
