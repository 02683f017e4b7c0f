package cloudoidc

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/qlik/cloud"
	"github.com/qlikgate/qlikgate/qlik/cloudtoken"
)

// Lifetimes. The code's sixty seconds is the contract (Qlik
// redeems it at once, server to server); tokens live long enough for the
// tenant to call userinfo right after the exchange.
const (
	CodeLifetime           = 60 * time.Second
	DefaultTokenLifetime   = 5 * time.Minute
	MinTokenLifetime       = 30 * time.Second
	MaxTokenLifetime       = time.Hour
	defaultCallbackPath    = "/login/callback"
	maxSigningKeyFiles     = 8
	algRS256, algRS512     = "RS256", "RS512"
	placeholderUserExample = "{user}"
)

// Config is the `cloud_oidc:` block of a target: qlikgate is the OpenID
// provider of the tenant's interactive identity provider.
type Config struct {
	// TenantURL is the tenant's address, https://acme.eu.qlikcloud.com, with
	// its original host name (Qlik's callback uses it, not an alias).
	// Required.
	TenantURL string `yaml:"tenant_url"`
	// ClientID is the client id the tenant's identity provider is given
	// (Management Console > Identity provider > OIDC > Client ID). Required.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the client secret the tenant sends to the token
	// endpoint (client_secret_basic or client_secret_post); compared in
	// constant time. At least 32 characters. Required.
	ClientSecret string `yaml:"client_secret" secret:"true"`
	// RedirectURIs are the only addresses codes are sent to. Default:
	// {tenant_url}/login/callback.
	RedirectURIs []string `yaml:"redirect_uris"`
	// PostLogoutRedirectURIs are the addresses the end-session endpoint may
	// send the browser back to (the tenant's "Post logout redirect URI").
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	// SigningKeyFiles are PEM RSA private keys (PKCS#1 or PKCS#8, at least
	// 2048 bits; make one with `qlikgate keygen`): the first signs ID
	// tokens, all are published in the JWKS, so a new key can be added
	// second, published, then moved first. Required.
	SigningKeyFiles []string `yaml:"signing_key_files"`
	// SigningAlgorithm is RS256 (Qlik's default) or RS512 (when the
	// tenant's identity provider is set to "ID token signature algorithm:
	// RS512").
	SigningAlgorithm string `yaml:"signing_algorithm"`
	// SubjectFormat builds sub from {user} (the user id) and {directory},
	// as for kind cloud; Qlik Cloud matches users by subject, so never
	// change it once users exist.
	SubjectFormat string `yaml:"subject_format"`
	// TokenLifetime is how long ID and access tokens are valid.
	TokenLifetime time.Duration `yaml:"token_lifetime"`
	// CAFile is a PEM CA bundle that signs the tenant's certificate, for
	// `qlikgate check` and the qlik-embed token calls against a private
	// test tenant.
	CAFile string `yaml:"ca_file"`
	// Embed: the tenant's OAuth clients through which qlikgate obtains
	// qlik-embed access tokens for its signed-in users (POST
	// /t/{id}/access-token), the same keys as in the cloud kind. With
	// OpenID Connect login the tenant knows each user by the sub of the ID
	// token, which is the subject the impersonation asks for.
	Embed cloudtoken.Config `yaml:",inline"`
}

// NewConfig returns a configuration with the defaults filled in.
func NewConfig() *Config {
	c := &Config{SigningAlgorithm: algRS256, SubjectFormat: placeholderUserExample, TokenLifetime: DefaultTokenLifetime}
	c.Embed.Defaults()
	return c
}

// Validate reports every problem with the block, without reading files.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.TenantURL == "" {
		add("tenant_url: required (the tenant's address, like https://acme.eu.qlikcloud.com)")
	} else if _, err := cloud.TenantOrigin(c.TenantURL); err != nil {
		add("tenant_url: %v", err)
	}
	switch {
	case c.ClientID == "":
		add("client_id: required (the client id entered in the tenant's identity provider)")
	case !printable(c.ClientID):
		add("client_id: %q must be a single word of printable characters", c.ClientID)
	}
	if len(c.ClientSecret) < 32 {
		add("client_secret: required, at least 32 characters (make one with `openssl rand -base64 32`)")
	}
	for i, u := range c.RedirectURIs {
		if err := checkHTTPSURL(u); err != nil {
			add("redirect_uris[%d]: %v", i, err)
		}
	}
	for i, u := range c.PostLogoutRedirectURIs {
		if err := checkHTTPSURL(u); err != nil {
			add("post_logout_redirect_uris[%d]: %v", i, err)
		}
	}
	switch n := len(c.SigningKeyFiles); {
	case n == 0:
		add("signing_key_files: required (PEM RSA private keys; create one with `qlikgate keygen`)")
	case n > maxSigningKeyFiles:
		add("signing_key_files: %d files; at most %d (keep the one that signs and those being rotated)", n, maxSigningKeyFiles)
	}
	for i, f := range c.SigningKeyFiles {
		if strings.TrimSpace(f) == "" {
			add("signing_key_files[%d]: empty", i)
		}
	}
	if c.SigningAlgorithm != algRS256 && c.SigningAlgorithm != algRS512 {
		add("signing_algorithm: %q; Qlik Cloud accepts RS256 or RS512", c.SigningAlgorithm)
	}
	if err := cloud.CheckSubjectFormat(c.SubjectFormat); err != nil {
		add("subject_format: %v", err)
	}
	if c.TokenLifetime < MinTokenLifetime || c.TokenLifetime > MaxTokenLifetime {
		add("token_lifetime: %v is outside %v…%v", c.TokenLifetime, MinTokenLifetime, MaxTokenLifetime)
	}
	if err := c.Embed.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// redirectURIs is redirect_uris or its default.
func (c *Config) redirectURIs(tenant string) []string {
	if len(c.RedirectURIs) > 0 {
		return c.RedirectURIs
	}
	return []string{tenant + defaultCallbackPath}
}

// checkHTTPSURL accepts an absolute https URL without user info or
// fragment: where a browser is sent with a code or after logout.
func checkHTTPSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("%q must be an absolute https URL without user or fragment", raw)
	}
	return nil
}

func printable(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
