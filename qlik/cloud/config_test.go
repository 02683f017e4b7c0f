package cloud

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.TokenLifetime != 5*time.Minute || c.SubjectFormat != "{user}" {
		t.Errorf("defaults %+v", c)
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Config {
		c := DefaultConfig()
		c.TenantURL = "https://acme.eu.qlikcloud.com"
		c.WebIntegrationID = "rg8Mp0iXJmm-xyz"
		c.Issuer = "qlikgate.acme.com"
		c.KeyID = "qlikgate-1"
		c.PrivateKeyFile = "/etc/qlikgate/jwt_private.pem"
		return c
	}
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error; none: valid
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "tenant with trailing slash and port", edit: func(c *Config) { c.TenantURL = "https://qlik.acme.com:8443/" }},
		{name: "one-hour lifetime", edit: func(c *Config) { c.TokenLifetime = time.Hour }},
		{name: "ten-second lifetime", edit: func(c *Config) { c.TokenLifetime = 10 * time.Second }},
		{name: "directory in subject", edit: func(c *Config) { c.SubjectFormat = `{directory}\{user}` }},
		{name: "return hosts", edit: func(c *Config) { c.AllowedReturnHosts = []string{"portal.acme.com", "qlik.acme.com:8443", "[::1]:443"} }},
		{name: "everything missing", edit: func(c *Config) { *c = Config{} }, want: []string{
			"tenant_url: required", "web_integration_id: required", "issuer: required", "key_id: required",
			"private_key_file: required", "token_lifetime:", "subject_format:",
		}},
		{name: "http tenant", edit: func(c *Config) { c.TenantURL = "http://acme.eu.qlikcloud.com" }, want: []string{"tenant_url:", "https"}},
		{name: "tenant with path", edit: func(c *Config) { c.TenantURL = "https://acme.eu.qlikcloud.com/hub" }, want: []string{"tenant_url:", "without user, path"}},
		{name: "tenant with user", edit: func(c *Config) { c.TenantURL = "https://u@acme.eu.qlikcloud.com" }, want: []string{"tenant_url:"}},
		{name: "tenant with query", edit: func(c *Config) { c.TenantURL = "https://acme.eu.qlikcloud.com?x=1" }, want: []string{"tenant_url:"}},
		{name: "tenant unicode host", edit: func(c *Config) { c.TenantURL = "https://аcme.eu.qlikcloud.com" }, want: []string{"tenant_url:", "not an ASCII host name"}},
		{name: "id with space", edit: func(c *Config) { c.WebIntegrationID = "a b" }, want: []string{"web_integration_id:"}},
		{name: "kid with newline", edit: func(c *Config) { c.KeyID = "k\n" }, want: []string{"key_id:"}},
		{name: "blank issuer", edit: func(c *Config) { c.Issuer = "  " }, want: []string{"issuer: required"}},
		{name: "lifetime over an hour", edit: func(c *Config) { c.TokenLifetime = time.Hour + time.Second }, want: []string{"token_lifetime:", "more than an hour"}},
		{name: "lifetime too short", edit: func(c *Config) { c.TokenLifetime = 5 * time.Second }, want: []string{"token_lifetime:"}},
		{name: "subject without user", edit: func(c *Config) { c.SubjectFormat = "{directory}" }, want: []string{"subject_format:", "{user}"}},
		{name: "subject with typo", edit: func(c *Config) { c.SubjectFormat = "{user}@{domain}" }, want: []string{"subject_format:", "braces"}},
		{name: "return host over http", edit: func(c *Config) { c.AllowedReturnHosts = []string{"http://portal.acme.com"} }, want: []string{"allowed_return_hosts[0]:", "https"}},
		{name: "return host with scheme and path", edit: func(c *Config) { c.AllowedReturnHosts = []string{"https://portal.acme.com/x"} }, want: []string{"allowed_return_hosts[0]:"}},
		{name: "return host with user info", edit: func(c *Config) { c.AllowedReturnHosts = []string{"https://qlik@portal.acme.com"} }, want: []string{"allowed_return_hosts[0]:", "user info"}},
		{name: "return host in Unicode", edit: func(c *Config) { c.AllowedReturnHosts = []string{"pörtal.acme.com"} }, want: []string{"allowed_return_hosts[0]:", "xn--"}},
		{name: "return host wildcard", edit: func(c *Config) { c.AllowedReturnHosts = []string{"ok.acme.com", "*.acme.com"} }, want: []string{"allowed_return_hosts[1]:"}},
		{name: "return host bad port", edit: func(c *Config) { c.AllowedReturnHosts = []string{"portal.acme.com:99999"} }, want: []string{"allowed_return_hosts[0]:", "port"}},
		{name: "return host with path", edit: func(c *Config) { c.AllowedReturnHosts = []string{"portal.acme.com/x"} }, want: []string{"allowed_return_hosts[0]:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the configuration")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestTenantOrigin(t *testing.T) {
	tests := map[string]string{
		"https://acme.eu.qlikcloud.com":       "https://acme.eu.qlikcloud.com",
		"https://ACME.eu.qlikcloud.com/":      "https://acme.eu.qlikcloud.com",
		"https://acme.eu.qlikcloud.com:443":   "https://acme.eu.qlikcloud.com",
		"https://127.0.0.1:8443":              "https://127.0.0.1:8443",
		"https://[::1]:443/":                  "https://[::1]",
		"https://qlik.acme.com:8443":          "https://qlik.acme.com:8443",
		"https://acme.eu.qlikcloud.com./":     "",
		"https://acme.eu.qlikcloud.com:/":     "",
		"https://acme.eu.qlikcloud.com#frag":  "",
		"//acme.eu.qlikcloud.com":             "",
		"https://acme.eu.qlikcloud.com:0":     "",
		"https://acme.eu.qlikcloud.com/x/../": "",
	}
	for in, want := range tests {
		got, err := tenantOrigin(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("tenantOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
