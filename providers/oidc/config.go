package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is the `oidc:` block of a provider.
type Config struct {
	// Issuer is the issuer URL exactly as the identity provider publishes
	// it in its discovery document (a trailing slash matters). It must be
	// https, except on a loopback host for tests and demos.
	// Required.
	Issuer string `yaml:"issuer"`
	// ClientID is the application (client) id registered at the identity
	// provider. Required.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the application's secret. Required unless
	// public_client.
	ClientSecret string `yaml:"client_secret" secret:"true"`
	// PublicClient is for applications registered without a secret
	// (public / SPA-less "native" registrations): the code is then
	// protected by PKCE alone. client_secret must be empty.
	PublicClient bool `yaml:"public_client"`
	// TokenAuthMethod is how the secret is sent to the token endpoint:
	// client_secret_basic or client_secret_post. Empty: basic, unless the
	// issuer advertises only post.
	TokenAuthMethod string `yaml:"token_endpoint_auth_method"`

	// Scopes are requested; openid is added when missing.
	Scopes []string `yaml:"scopes"`
	// Prompt is sent as `prompt` (login, consent, select_account, none).
	Prompt string `yaml:"prompt"`
	// DomainHint is sent as `domain_hint` (Entra ID: skip the home realm
	// discovery page for federated tenants).
	DomainHint string `yaml:"domain_hint"`
	// AuthParams are further static parameters of the authorization
	// request, such as Google's `hd` or Okta's `idp`.
	AuthParams map[string]string `yaml:"auth_params"`

	// CAFile holds PEM certificates trusted, beside the system roots, for
	// every call to the issuer (private PKI).
	CAFile string `yaml:"ca_file"`
	// Timeout bounds each call to the issuer (discovery, keys, token,
	// userinfo).
	Timeout time.Duration `yaml:"timeout"`

	// UserIDClaim names the claim that becomes the Qlik UserId.
	UserIDClaim string `yaml:"user_id_claim"`
	// UserIDLowercase folds the UserId to lower case, so that "John@corp"
	// and "john@corp" are one Qlik user.
	UserIDLowercase bool `yaml:"user_id_lowercase"`
	// NameClaim names the claim holding the display name; when it is
	// missing, given_name and family_name are joined. Empty: no name.
	NameClaim string `yaml:"name_claim"`
	// EmailClaim names the claim holding the e-mail address. Empty: no
	// e-mail.
	EmailClaim string `yaml:"email_claim"`
	// RequireVerifiedEmail refuses users whose e-mail is missing or not
	// verified.
	RequireVerifiedEmail bool `yaml:"require_verified_email"`
	// AssumeEmailVerified treats the e-mail as verified when the issuer
	// sends no email_verified claim at all (Entra ID never does); an
	// explicit false still counts as unverified.
	AssumeEmailVerified bool `yaml:"assume_email_verified"`
	// GroupsClaim names the claim holding the user's groups, as a dotted
	// path for nested claims (realm_access.roles). Empty: no groups.
	GroupsClaim string `yaml:"groups_claim"`
	// UserInfo says when to call the userinfo endpoint: auto (when a
	// configured claim is not in the ID token), always, or never.
	UserInfo string `yaml:"userinfo"`

	// AllowedGroups, when not empty, admits only members of one of them.
	AllowedGroups []string `yaml:"allowed_groups"`
	// AllowedDomains, when not empty, admits only users whose e-mail is in
	// one of these domains (exact match, case-insensitive).
	AllowedDomains []string `yaml:"allowed_domains"`
	// Attributes maps a Qlik attribute name to the claim (path) holding its
	// values.
	Attributes map[string]string `yaml:"attributes"`
}

// Values of Config.UserInfo.
const (
	UserInfoAuto   = "auto"
	UserInfoAlways = "always"
	UserInfoNever  = "never"
)

// DefaultTimeout bounds each call to the issuer when `timeout` is not set.
const DefaultTimeout = 10 * time.Second

// NewConfig returns a configuration with its defaults: the claims most
// identity providers use, and the scopes that return them.
func NewConfig() *Config {
	return &Config{
		Scopes:      []string{"openid", "profile", "email"},
		Timeout:     DefaultTimeout,
		UserIDClaim: "sub",
		NameClaim:   "name",
		EmailClaim:  "email",
		GroupsClaim: "groups",
		UserInfo:    UserInfoAuto,
	}
}

var (
	// RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\'.
	scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
	dnsName    = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)
)

// reservedParams are set by the provider itself; auth_params must not
// override them, or the flow's protections (state, nonce, PKCE) would break.
var reservedParams = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "login_hint", "domain_hint", "request", "request_uri",
}

// Validate reports every problem with the block, each error starting with
// the key it concerns.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := validateIssuer(c.Issuer); err != nil {
		add("issuer: %w", err)
	}
	if strings.TrimSpace(c.ClientID) == "" {
		add("client_id: required (the application/client id registered at the identity provider)")
	}
	switch {
	case c.PublicClient && c.ClientSecret != "":
		add("client_secret: must be empty when public_client is true")
	case !c.PublicClient && c.ClientSecret == "":
		add("client_secret: required (or set public_client: true for an application registered without a secret)")
	}
	switch c.TokenAuthMethod {
	case "", "client_secret_basic", "client_secret_post":
	default:
		add("token_endpoint_auth_method: %q is not one of client_secret_basic, client_secret_post", c.TokenAuthMethod)
	}
	for i, s := range c.Scopes {
		if !scopeToken.MatchString(s) {
			add("scopes[%d]: %q is not a valid scope (one word, no spaces or quotes)", i, s)
		}
	}
	if err := validatePrompt(c.Prompt); err != nil {
		add("prompt: %w", err)
	}
	if c.DomainHint != "" && !printable(c.DomainHint) {
		add("domain_hint: %q must not contain spaces or control characters", c.DomainHint)
	}
	for _, k := range sortedKeys(c.AuthParams) {
		switch {
		case k == "" || !printable(k):
			add("auth_params: %q is not a valid parameter name", k)
		case slices.Contains(reservedParams, k):
			add("auth_params.%s: set by qlikgate itself (use the dedicated key if there is one)", k)
		case strings.ContainsFunc(c.AuthParams[k], isControl):
			add("auth_params.%s: control characters are not allowed", k)
		}
	}
	if c.Timeout < time.Second || c.Timeout > 2*time.Minute {
		add("timeout: %v is out of range (give a duration between 1s and 2m, e.g. 10s)", c.Timeout)
	}

	if c.UserIDClaim == "" {
		add("user_id_claim: required (sub, preferred_username, email, upn, oid…)")
	} else if err := validateClaimPath(c.UserIDClaim); err != nil {
		add("user_id_claim: %w", err)
	}
	for _, k := range []struct{ key, val string }{
		{"name_claim", c.NameClaim}, {"email_claim", c.EmailClaim}, {"groups_claim", c.GroupsClaim},
	} {
		if k.val != "" {
			if err := validateClaimPath(k.val); err != nil {
				add("%s: %w", k.key, err)
			}
		}
	}
	switch c.UserInfo {
	case UserInfoAuto, UserInfoAlways, UserInfoNever:
	default:
		add("userinfo: %q is not one of auto, always, never", c.UserInfo)
	}

	for i, g := range c.AllowedGroups {
		if strings.TrimSpace(g) == "" {
			add("allowed_groups[%d]: blank group name", i)
		}
	}
	if len(c.AllowedGroups) > 0 && c.GroupsClaim == "" {
		add("allowed_groups: needs groups_claim (the claim the groups are read from)")
	}
	for i, d := range c.AllowedDomains {
		if !dnsName.MatchString(d) {
			add("allowed_domains[%d]: %q is not a domain name (write example.com, without @ or wildcards)", i, d)
		}
	}
	if len(c.AllowedDomains) > 0 && c.EmailClaim == "" {
		add("allowed_domains: needs email_claim (the domain is taken from the e-mail address)")
	}
	if c.RequireVerifiedEmail && c.EmailClaim == "" {
		add("require_verified_email: needs email_claim")
	}
	for _, name := range sortedKeys(c.Attributes) {
		if strings.TrimSpace(name) == "" || strings.ContainsFunc(name, isControl) {
			add("attributes: %q is not a valid attribute name", name)
			continue
		}
		if err := validateClaimPath(c.Attributes[name]); err != nil {
			add("attributes.%s: %w", name, err)
		}
	}
	return errors.Join(errs...)
}

// validateIssuer insists on https because the discovery document decides
// where tokens and keys come from; plain http is allowed only on loopback,
// where nobody can sit in between.
func validateIssuer(s string) error {
	if s == "" {
		return errors.New("required (for example https://login.microsoftonline.com/<tenant-id>/v2.0)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", s, err)
	}
	switch {
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("%q must be an absolute https URL", s)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return fmt.Errorf("%q must use https (plain http is only accepted for localhost)", s)
	case u.User != nil, u.RawQuery != "", u.Fragment != "", strings.Contains(s, "#"):
		return fmt.Errorf("%q must not contain user info, a query or a fragment", s)
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var promptValues = []string{"none", "login", "consent", "select_account"}

func validatePrompt(p string) error {
	if p == "" {
		return nil
	}
	words := strings.Fields(p)
	for _, w := range words {
		if !slices.Contains(promptValues, w) {
			return fmt.Errorf("%q is not one of none, login, consent, select_account (space-separated)", p)
		}
	}
	if slices.Contains(words, "none") && len(words) > 1 {
		return fmt.Errorf("%q: none cannot be combined with other values", p)
	}
	return nil
}

// validateClaimPath accepts a claim name or a dotted path into nested
// objects. A claim whose own name contains dots (Auth0's namespaced
// "https://example.com/roles") is also accepted: lookup tries the whole
// name first.
func validateClaimPath(p string) error {
	if strings.ContainsFunc(p, func(r rune) bool { return r == ' ' || isControl(r) }) {
		return fmt.Errorf("%q must not contain spaces or control characters", p)
	}
	if slices.Contains(strings.Split(p, "."), "") {
		return fmt.Errorf("%q has an empty path segment (write realm_access.roles)", p)
	}
	return nil
}

func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || isControl(r) })
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
