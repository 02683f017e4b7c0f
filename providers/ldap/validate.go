package ldap

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/internal/keyerr"
)

// Validate reports every problem with the block, one error per problem, each
// starting with the key it concerns (relative to the `ldap:` block).
func (c *Config) Validate() error {
	r := c.withDefaults()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	errs = append(errs, r.validateServers()...)
	switch {
	case r.AnonymousSearch && r.BindDN != "":
		add("anonymous_search", "cannot be combined with bind_dn: remove one of them")
	case r.AnonymousSearch && r.BindPassword != "":
		add("anonymous_search", "cannot be combined with bind_password")
	case !r.AnonymousSearch && r.BindDN == "":
		add("bind_dn", "required (the service account that searches for users), or set anonymous_search: true")
	case !r.AnonymousSearch && r.BindPassword == "":
		// An empty password would make the service bind an unauthenticated
		// bind, which many servers accept as anonymous.
		add("bind_password", "required with bind_dn (or bind_password_file)")
	}
	if r.UserBase == "" {
		add("user_base", `required (where users are searched, e.g. "DC=corp,DC=local")`)
	} else if _, err := ldap.ParseDN(r.UserBase); err != nil {
		add("user_base", "%q is not a DN: %v", r.UserBase, err)
	}
	if r.GroupBase != "" {
		if _, err := ldap.ParseDN(r.GroupBase); err != nil {
			add("group_base", "%q is not a DN: %v", r.GroupBase, err)
		}
	}
	if err := checkFilter(r.UserFilter, "{username}"); err != nil {
		add("user_filter", "%v", err)
	}
	if r.GroupBase != "" {
		if err := checkFilter(r.GroupFilter, "{dn}", "{username}"); err != nil {
			add("group_filter", "%v", err)
		}
	}
	for _, a := range []struct{ key, attr string }{
		{"user_id_attribute", r.UserIDAttribute}, {"name_attribute", r.NameAttribute},
		{"email_attribute", r.EmailAttribute}, {"group_name_attribute", r.GroupNameAttribute},
	} {
		if !validAttr(a.attr) {
			add(a.key, "%q is not an LDAP attribute name", a.attr)
		}
	}
	if r.MemberOfAttribute != "" && !validAttr(r.MemberOfAttribute) {
		add("member_of_attribute", "%q is not an LDAP attribute name", r.MemberOfAttribute)
	}
	for _, attr := range slices.Sorted(maps.Keys(r.Attributes)) {
		name := r.Attributes[attr]
		if !validAttr(attr) {
			add("attributes."+attr, "%q is not an LDAP attribute name", attr)
		}
		if strings.TrimSpace(name) == "" {
			add("attributes."+attr, "the Qlik attribute name is empty")
		}
	}
	if r.nested() && r.GroupBase == "" && r.MemberOfAttribute == "" {
		add("nested_groups", "needs a group source: set group_base (group search) or member_of_attribute")
	}
	if !validCase(r.UserIDCase) {
		add("user_id_case", "%q is not allowed: use preserve, lower or upper", r.UserIDCase)
	}
	if !validCase(r.Username.Case) {
		add("username.case", "%q is not allowed: use preserve, lower or upper", r.Username.Case)
	}
	for i, d := range r.Username.Domains {
		if strings.TrimSpace(d) == "" || strings.ContainsAny(d, `\@`) {
			add(fmt.Sprintf("username.domains[%d]", i), `%q is not a domain name: give it as users type it before the backslash (CORP for CORP\alice)`, d)
		}
	}
	for i, d := range r.Username.Realms {
		if strings.TrimSpace(d) == "" || strings.ContainsAny(d, `\@`) {
			add(fmt.Sprintf("username.realms[%d]", i), `%q is not a realm: give it as users type it after the @ (corp.example for alice@corp.example)`, d)
		}
	}
	if r.Username.StripRealm && len(r.Username.Realms) == 0 && len(dcLabels(r.UserBase)) == 0 {
		add("username.realms", "required with strip_realm when user_base has no DC= components: list the realms users may type after the @ (any other is refused)")
	}
	errs = append(errs, r.validateLimits()...)
	if r.PasswordChangeURL != "" {
		u, err := url.Parse(r.PasswordChangeURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("password_change_url", "%q must be an absolute http(s) URL", r.PasswordChangeURL)
		}
	}
	if err := r.validatePasswordChange(); err != nil {
		errs = append(errs, err)
	}
	if c.Kerberos != nil {
		errs = append(errs, keyerr.Prefix("kerberos.", c.Kerberos.validate()))
	}
	return errors.Join(errs...)
}

// validatePasswordChange refuses password_change over plain LDAP: the old
// and the new password would cross the network in clear text.
func (c *Config) validatePasswordChange() error {
	if !c.PasswordChange.Enabled {
		return nil
	}
	if c.StartTLS {
		return nil
	}
	for i, raw := range c.URLs {
		if u, err := parseServerURL(raw); err == nil && u.Scheme != "ldaps" {
			return fmt.Errorf("password_change.enabled: needs TLS to every server, but urls[%d] %q is plain ldap://: use ldaps:// or start_tls: true", i, raw)
		}
	}
	return nil
}

func (c *Config) validateServers() []error {
	var errs []error
	if len(c.URLs) == 0 {
		errs = append(errs, errors.New(`urls: at least one server is required, e.g. ["ldaps://dc1.corp.local:636"]`))
	}
	for i, raw := range c.URLs {
		key := fmt.Sprintf("urls[%d]", i)
		u, err := parseServerURL(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		if c.StartTLS && u.Scheme == "ldaps" {
			errs = append(errs, fmt.Errorf("%s: %q is ldaps:// which is already encrypted: remove start_tls or use ldap://", key, raw))
		}
	}
	return errs
}

func (c *Config) validateLimits() []error {
	var errs []error
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be a positive duration, not %s", key, d))
		}
	}
	positive("timeout", c.Timeout)
	positive("dial_timeout", c.DialTimeout)
	if c.DialTimeout > c.Timeout && c.Timeout > 0 {
		errs = append(errs, fmt.Errorf("dial_timeout: %s is longer than timeout (%s), so a dead server would use up the whole login", c.DialTimeout, c.Timeout))
	}
	if c.ServerBackoff < 0 {
		errs = append(errs, fmt.Errorf("server_backoff: must not be negative, not %s", c.ServerBackoff))
	}
	if c.PoolSize < 0 || c.PoolSize > 1000 {
		errs = append(errs, fmt.Errorf("pool_size: %d is not allowed: use 0 (no pooling) to 1000", c.PoolSize))
	}
	if c.PoolIdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("pool_idle_timeout: must not be negative, not %s", c.PoolIdleTimeout))
	}
	return errs
}

// parseServerURL accepts ldap:// and ldaps:// URLs with a host and nothing
// else that would be silently ignored (a base DN or filter in the URL).
func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	switch {
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		return nil, fmt.Errorf("%q: the scheme must be ldap:// or ldaps://", raw)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", raw)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q: only scheme, host and port are allowed (set the base with user_base)", raw)
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return nil, fmt.Errorf("%q: bad port %q", raw, p)
		}
	}
	return u, nil
}

var placeholderPattern = regexp.MustCompile(`\{[A-Za-z_]*\}`)

// checkFilter requires one of the placeholders, refuses unknown ones and
// checks that the filter compiles once they are replaced.
func checkFilter(filter string, placeholders ...string) error {
	if filter == "" {
		return errors.New("required")
	}
	found := false
	for _, ph := range placeholderPattern.FindAllString(filter, -1) {
		known := false
		for _, p := range placeholders {
			if ph == p {
				known, found = true, true
			}
		}
		if !known {
			return fmt.Errorf("%q: unknown placeholder %s (allowed: %s)", filter, ph, strings.Join(placeholders, ", "))
		}
	}
	if !found {
		return fmt.Errorf("%q must contain %s", filter, strings.Join(placeholders, " or "))
	}
	sample := placeholderPattern.ReplaceAllString(filter, "x")
	if _, err := ldap.CompileFilter(sample); err != nil {
		return fmt.Errorf("%q is not a valid LDAP filter: %v", filter, err)
	}
	return nil
}

var attrPattern = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)

func validAttr(s string) bool { return attrPattern.MatchString(s) }

func validCase(s string) bool { return s == casePreserve || s == caseLower || s == caseUpper }
