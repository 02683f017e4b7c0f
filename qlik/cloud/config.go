package cloud

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloudtoken"
)

// Token lifetime bounds. Qlik refuses a JWT whose exp − nbf exceeds one
// hour; below ten seconds a slow browser or a small clock skew would make
// logins fail at random.
const (
	DefaultTokenLifetime = 5 * time.Minute
	MinTokenLifetime     = 10 * time.Second
	MaxTokenLifetime     = time.Hour
)

// Subject placeholders for subject_format.
const (
	placeholderUser      = "{user}"
	placeholderDirectory = "{directory}"
)

// Config is the `cloud:` block of a target.
type Config struct {
	// TenantURL is the tenant's address, https://acme.eu.qlikcloud.com or
	// its custom domain. Only scheme and host (and port) are kept.
	// Required.
	TenantURL string `yaml:"tenant_url"`
	// WebIntegrationID is the id of the tenant's web integration whose
	// allowed origins include qlikgate's origin: without it the browser may
	// not call the tenant from qlikgate's page. Required.
	WebIntegrationID string `yaml:"web_integration_id"`
	// Issuer is the JWT's iss: it must equal the issuer of the tenant's JWT
	// identity provider. Required.
	Issuer string `yaml:"issuer"`
	// KeyID is the JWT's kid: it must equal the key id of the tenant's JWT
	// identity provider. Required.
	KeyID string `yaml:"key_id"`
	// PrivateKeyFile is the PEM signing key: RSA (PKCS#1 or PKCS#8, at
	// least 2048 bits) signs RS256, EC P-256 (SEC 1 or PKCS#8) signs ES256.
	// Make one with `qlikgate keygen`. Required.
	PrivateKeyFile string `yaml:"private_key_file"`
	// TokenLifetime is the JWT's whole validity window, exp − nbf.
	TokenLifetime time.Duration `yaml:"token_lifetime"`
	// SubjectFormat builds the JWT's sub from {user} (the user id) and
	// {directory}; Qlik Cloud matches users by subject, so changing it
	// later creates new users.
	SubjectFormat string `yaml:"subject_format"`
	// AllowedReturnHosts are https origins besides the tenant's that a
	// returnto may point to ("host", "host:port" or "https://host[:port]"),
	// e.g. the tenant's other custom domain or an embedding portal.
	AllowedReturnHosts []string `yaml:"allowed_return_hosts"`
	// CAFile is a PEM CA bundle that signs the tenant's certificate, for a
	// private test tenant. qlikgate calls the tenant itself only for
	// access tokens and in `qlikgate check`; during a login the browser
	// does.
	CAFile string `yaml:"ca_file"`
	// The impersonation and admin OAuth clients for qlik-embed access
	// tokens (POST /t/{id}/access-token).
	Embed cloudtoken.Config `yaml:",inline"`
}

// DefaultConfig returns a configuration with the defaults filled in.
func DefaultConfig() *Config {
	c := &Config{TokenLifetime: DefaultTokenLifetime, SubjectFormat: placeholderUser}
	c.Embed.Defaults()
	return c
}

// Validate reports every problem with the block, without reading files.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.TenantURL == "" {
		add("tenant_url: required (the tenant's address, like https://acme.eu.qlikcloud.com)")
	} else if _, err := tenantOrigin(c.TenantURL); err != nil {
		add("tenant_url: %v", err)
	}
	switch {
	case c.WebIntegrationID == "":
		add("web_integration_id: required (Management console > Web > the integration that lists qlikgate's origin)")
	case !printableToken(c.WebIntegrationID):
		add("web_integration_id: %q must be a single word of printable characters", c.WebIntegrationID)
	}
	if strings.TrimSpace(c.Issuer) == "" {
		add("issuer: required (the issuer of the tenant's JWT identity provider, like qlikgate.acme.com)")
	}
	switch {
	case c.KeyID == "":
		add("key_id: required (the key id of the tenant's JWT identity provider)")
	case !printableToken(c.KeyID):
		add("key_id: %q must be a single word of printable characters", c.KeyID)
	}
	if c.PrivateKeyFile == "" {
		add("private_key_file: required (PEM private key; create one with `qlikgate keygen`)")
	}
	if c.TokenLifetime < MinTokenLifetime || c.TokenLifetime > MaxTokenLifetime {
		add("token_lifetime: %v is outside %v…%v (Qlik Cloud refuses tokens valid for more than an hour)", c.TokenLifetime, MinTokenLifetime, MaxTokenLifetime)
	}
	if err := checkSubjectFormat(c.SubjectFormat); err != nil {
		add("subject_format: %v", err)
	}
	for i, h := range c.AllowedReturnHosts {
		if _, err := returnOrigin(h); err != nil {
			add("allowed_return_hosts[%d]: %v", i, err)
		}
	}
	if err := c.Embed.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tenantOrigin checks tenant_url and returns https://host[:port] with the
// host in lower case and without a default port or trailing slash.
func tenantOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("%q must use https: Qlik Cloud's session cookies are Secure", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("%q must be https://host[:port] without user, path, query or fragment", raw)
	}
	origin, err := qlik.CanonicalOrigin(u)
	if err != nil {
		return "", fmt.Errorf("%q: %v", raw, err)
	}
	return strings.TrimSuffix(origin, ":443"), nil
}

// printableToken reports whether s is non-empty printable ASCII without
// spaces: ids that travel in headers and JWT headers.
func printableToken(s string) bool {
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

// checkSubjectFormat requires {user} and allows only the known
// placeholders, so a typo like {usr} is caught at start-up rather than
// creating users named "{usr}".
func checkSubjectFormat(f string) error {
	if !strings.Contains(f, placeholderUser) {
		return fmt.Errorf("%q must contain %s", f, placeholderUser)
	}
	rest := strings.NewReplacer(placeholderUser, "", placeholderDirectory, "").Replace(f)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%q: only %s and %s may appear in braces", f, placeholderUser, placeholderDirectory)
	}
	return nil
}
