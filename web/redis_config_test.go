package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRedisConfigErrorsNameTheirKeys(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*SessionConfig)
		want string // "" = valid
	}{
		{"valid", func(c *SessionConfig) {}, ""},
		{"valid with TLS and a password", func(c *SessionConfig) { c.Redis.URL = "rediss://:s3cret@redis.corp.local:6380/2" }, ""},
		{"no url", func(c *SessionConfig) { c.Redis.URL = "" }, "redis.url: required with store: redis"},
		{"another scheme", func(c *SessionConfig) { c.Redis.URL = "https://redis.corp.local" }, `redis.url: "https://redis.corp.local" must start with redis://`},
		{"no host", func(c *SessionConfig) { c.Redis.URL = "redis:///0" }, "names no host"},
		{"database not a number", func(c *SessionConfig) { c.Redis.URL = "redis://h/zero" }, `redis.url: "redis://h/zero": redis: invalid database number`},
		{"unknown option", func(c *SessionConfig) { c.Redis.URL = "redis://h/0?colour=blue" }, "unexpected option: colour"},
		{"certificate check off", func(c *SessionConfig) { c.Redis.URL = "rediss://h/0?skip_verify=true" }, "skip_verify would accept any server certificate"},
		{"key prefix", func(c *SessionConfig) { c.Redis.KeyPrefix = "qlik gate" }, `redis.key_prefix: "qlik gate" must be`},
		{"empty key prefix", func(c *SessionConfig) { c.Redis.KeyPrefix = "" }, "redis.key_prefix:"},
		{"timeout", func(c *SessionConfig) { c.Redis.Timeout = 0 }, "redis.timeout: 0s must be between 100ms and 1m"},
		{"ca_file without TLS", func(c *SessionConfig) { c.Redis.CAFile = notPEM }, "redis.ca_file: only used with TLS"},
		{"ca_file missing", func(c *SessionConfig) { c.Redis.URL, c.Redis.CAFile = "rediss://h", filepath.Join(dir, "nope.pem") }, "redis.ca_file: open "},
		{"ca_file not PEM", func(c *SessionConfig) { c.Redis.URL, c.Redis.CAFile = "rediss://h", notPEM }, "holds no PEM certificate"},
		{"url with the cookie store", func(c *SessionConfig) { c.Store = "cookie" }, `redis.url: set, but store is "cookie"`},
		{"unknown store", func(c *SessionConfig) { c.Store = "memcached" }, `store: "memcached" is not supported: use "cookie" or "redis"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig().Session
			c.Secret, c.Store = strings.Repeat("s", 40), "redis"
			c.Redis.URL = "redis://:s3cret@redis.corp.local:6379/0"
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "s3cret"):
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestRedisConfigURLParseErrorHidesPassword(t *testing.T) {
	c := DefaultRedis()
	c.URL = "redis://user:s3cret@host:port:6379/%zz"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v: want one, without the password", err)
	}
}

func TestRedisOptions(t *testing.T) {
	c := DefaultRedis()
	c.URL = "redis://:fromurl@redis.corp.local/3?dial_timeout=7s"
	c.Password = "fromkey"
	o, err := c.options()
	if err != nil {
		t.Fatal(err)
	}
	if o.Password != "fromkey" || o.DB != 3 || o.Addr != "redis.corp.local:6379" {
		t.Errorf("password %q, db %d, addr %s", o.Password, o.DB, o.Addr)
	}
	if o.DialTimeout != 7*time.Second || o.ReadTimeout != 2*time.Second || o.WriteTimeout != 2*time.Second || !o.ContextTimeoutEnabled {
		t.Errorf("timeouts dial %v read %v write %v context %v", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.ContextTimeoutEnabled)
	}
	if o.TLSConfig != nil {
		t.Error("TLS for redis://")
	}
	c.URL = "rediss://redis.corp.local"
	if o, err = c.options(); err != nil || o.TLSConfig == nil || o.TLSConfig.InsecureSkipVerify || o.TLSConfig.ServerName != "redis.corp.local" {
		t.Errorf("rediss:// options %+v, %v", o, err)
	}
}

func TestRedisURLShownWithoutSecrets(t *testing.T) {
	c := DefaultRedis()
	c.URL = "redis://qlik:s3cret@redis.corp.local:6379/0?client_name=s3cret&pool_size=10"
	if got, want := c.redactedURL(), "redis://qlik:xxxxx@redis.corp.local:6379/0?client_name=…&pool_size=…"; got != want {
		t.Errorf("shown as %s, want %s", got, want)
	}
}
