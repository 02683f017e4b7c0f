package cloudtoken

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultAdminScope = "admin_classic"
	// Scope is what the impersonation token asks for: the signed-in user's
	// own rights (contract §3.6).
	Scope = "user_default"
	// DefaultCacheSize bounds the number of users whose token is cached.
	DefaultCacheSize = 10000
)

// Config is the qlik-embed part of a Qlik Cloud target's block (inline:
// its keys sit beside tenant_url). Without oauth_client_id the target
// issues no access tokens.
type Config struct {
	// OAuthClientID is the id of the tenant's OAuth client of type Web
	// with "Machine-to-machine impersonation" (grant
	// urn:qlik:oauth:user-impersonation, scope user_default): qlikgate asks
	// it for access tokens that act as the signed-in user, for qlik-embed
	// mashups (POST /t/{id}/access-token). Empty: no access tokens.
	OAuthClientID string `yaml:"oauth_client_id"`
	// OAuthClientSecret is that client's secret. Required with
	// oauth_client_id.
	OAuthClientSecret string `yaml:"oauth_client_secret" secret:"true"`
	// AdminClientID is the id of a machine-to-machine OAuth client (grant
	// client_credentials) allowed to create users (scope admin_classic):
	// Qlik issues impersonation tokens only for users that exist, so
	// qlikgate creates a user at their first embed with it. Empty: users
	// must exist already (signed in to the tenant once).
	AdminClientID string `yaml:"admin_client_id"`
	// AdminClientSecret is that client's secret. Required with
	// admin_client_id.
	AdminClientSecret string `yaml:"admin_client_secret" secret:"true"`
	// AdminScope is the scope asked for the admin client's token.
	AdminScope string `yaml:"admin_scope"`
	// OAuthTimeout bounds each call qlikgate makes to the tenant for a
	// token or a user.
	OAuthTimeout time.Duration `yaml:"oauth_timeout"`
	// TokenCacheSize is how many users' tokens are kept until shortly
	// before they expire, so that a mashup's page views do not each cost a
	// tenant call. When full, the token closest to expiry is dropped.
	TokenCacheSize int `yaml:"token_cache_size"`
}

// Defaults fills in the defaults of a zero Config; a kind's DefaultConfig
// calls it.
func (c *Config) Defaults() {
	c.AdminScope = DefaultAdminScope
	c.OAuthTimeout = DefaultTimeout
	c.TokenCacheSize = DefaultCacheSize
}

// Enabled reports whether access tokens are configured.
func (c *Config) Enabled() bool { return c.OAuthClientID != "" }

// Validate reports every problem with the keys, each starting with its key.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case c.OAuthClientID == "" && c.OAuthClientSecret != "":
		add("oauth_client_secret: set only with oauth_client_id")
	case c.OAuthClientID != "" && c.OAuthClientSecret == "":
		add("oauth_client_secret: required with oauth_client_id (the impersonation client's secret)")
	}
	switch {
	case c.AdminClientID != "" && c.OAuthClientID == "":
		add("admin_client_id: set only with oauth_client_id (it creates users for access tokens)")
	case c.AdminClientID == "" && c.AdminClientSecret != "":
		add("admin_client_secret: set only with admin_client_id")
	case c.AdminClientID != "" && c.AdminClientSecret == "":
		add("admin_client_secret: required with admin_client_id")
	}
	for key, v := range map[string]string{"oauth_client_id": c.OAuthClientID, "admin_client_id": c.AdminClientID, "admin_scope": c.AdminScope} {
		if strings.ContainsAny(v, " \t\r\n") {
			add("%s: %q must be one word", key, v)
		}
	}
	if c.OAuthTimeout <= 0 || c.OAuthTimeout > 2*time.Minute {
		add("oauth_timeout: %v must be between 0 and 2m", c.OAuthTimeout)
	}
	if c.TokenCacheSize < 1 {
		add("token_cache_size: %d must be at least 1", c.TokenCacheSize)
	}
	return errors.Join(sorted(errs)...)
}

// sorted orders errors by text, so that map iteration does not make the
// message change from run to run.
func sorted(errs []error) []error {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
