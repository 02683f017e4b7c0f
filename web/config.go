package web

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/internal/keyerr"
)

// ServerConfig is the `server:` block.
type ServerConfig struct {
	// Listen is the address to listen on.
	Listen string `yaml:"listen"`
	// PublicURL is how browsers reach qlikgate. Links, form actions and the
	// cookie path are built from it, never from the request's Host header.
	// With https, cookies get the Secure flag. Required.
	PublicURL string `yaml:"public_url"`
	// TLS serves HTTPS directly when both files are set.
	TLS TLSConfig `yaml:"tls"`
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// when finding a client's address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// FrameAncestors are the origins (https://portal.example.com, or
	// https://*.example.com) allowed to show qlikgate's pages in a frame.
	// Empty: no site may frame them.
	FrameAncestors []string `yaml:"frame_ancestors"`
	// ReadinessInterval is how often the providers' and targets' checks
	// run in the background for /readyz; at least 10s.
	ReadinessInterval time.Duration `yaml:"readiness_interval"`
}

// TLSConfig names the certificate and key qlikgate serves HTTPS with.
type TLSConfig struct {
	// CertFile is the PEM certificate chain served, the server's own
	// certificate first. A renewed file is picked up without a restart.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of that certificate.
	KeyFile string `yaml:"key_file"`
}

// SessionConfig is the `session:` block.
type SessionConfig struct {
	// Secret signs and encrypts the session cookie (separate keys are
	// derived from it with HKDF). At least 32 bytes, and not the example's
	// value; generate one with `openssl rand -base64 48`. Required.
	Secret string `yaml:"secret" secret:"true"`
	// PreviousSecrets still open sessions made with an older secret, so the
	// secret can be rotated without signing everybody out.
	PreviousSecrets []string `yaml:"previous_secrets"`
	// Lifetime is how long a sign-in lasts (single sign-on for Qlik).
	Lifetime time.Duration `yaml:"lifetime"`
	// IdleTimeout ends a sign-in not used for this long; 0 turns it off.
	// qlikgate only sees users when Qlik sends them back, not while they
	// work in Qlik, so keep it well above Qlik's own inactivity timeout.
	// The last-seen time is refreshed at most once a minute (or a tenth of
	// the timeout, if shorter), so it is enforced to within that.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Store is where sessions live: "cookie" (in the browser, signed and
	// encrypted; one instance) or "redis" (in Redis, shared by every
	// instance behind a load balancer, with login throttling and logout).
	Store string `yaml:"store"`
	// RevocationFile is where the cookie store keeps the sessions signed
	// out until they would have ended, so that a copy of a cookie stays
	// refused after a reload or a restart. qlikgate must be able to write
	// it and create files in its directory. A relative path is relative to
	// the configuration file. The default is next to the configuration,
	// or in $STATE_DIRECTORY when that is set (systemd's StateDirectory=,
	// the container image). Each instance keeps its own: several
	// instances need store: redis.
	RevocationFile string `yaml:"revocation_file"`
	// Redis is the server of store: redis.
	Redis RedisConfig `yaml:"redis"`
}

// UIConfig is the `ui:` block: what the pages look like and speak, changed
// without code.
type UIConfig struct {
	// Title names the service on every page and in the browser tab.
	Title string `yaml:"title"`
	// LogoFile is an image (PNG, JPEG, GIF, WebP or SVG) shown above the form.
	LogoFile string `yaml:"logo_file"`
	// PrimaryColor is the brand colour of buttons, links and focus rings.
	// The text on it, and a darker shade for text on white where the
	// colour itself is too light, are derived so that contrast meets WCAG AA.
	PrimaryColor string `yaml:"primary_color"`
	// CustomCSSFile is a stylesheet served after the default one.
	CustomCSSFile string `yaml:"custom_css_file"`
	// FooterText is shown at the bottom of every page.
	FooterText string `yaml:"footer_text"`
	// HelpURL is linked from every page (https://, http:// or mailto:).
	HelpURL string `yaml:"help_url"`
	// HelpText is the text of that link. Empty: "Help" in the page's
	// language. It needs help_url.
	HelpText string `yaml:"help_text"`
	// TemplatesDir holds templates that replace embedded ones by file name
	// (login.html, layout.html…); the others stay embedded.
	TemplatesDir string `yaml:"templates_dir"`
	// DefaultLanguage is used when the browser asks for no language
	// qlikgate speaks: en, de, es, fr or sv.
	DefaultLanguage string `yaml:"default_language"`
}

// Config gathers the web layer's blocks.
type Config struct {
	Server   ServerConfig
	Session  SessionConfig
	Security SecurityConfig
	UI       UIConfig
}

// DefaultConfig returns the defaults of every web key.
func DefaultConfig() Config {
	return Config{
		Server:   ServerConfig{Listen: ":8080", ReadinessInterval: time.Minute},
		Session:  SessionConfig{Lifetime: 8 * time.Hour, Store: "cookie", RevocationFile: DefaultRevocationFile, Redis: DefaultRedis()},
		Security: DefaultSecurity(),
		UI:       UIConfig{Title: "Qlik sign-in", PrimaryColor: "#006580", DefaultLanguage: "en"},
	}
}

// DefaultRevocationFile is session.revocation_file's default, next to the
// configuration file.
const DefaultRevocationFile = "qlikgate-revoked.json"

// ExampleSecret is the placeholder in config.yaml.example; it is refused so
// nobody runs with a published key.
const ExampleSecret = "change-me-to-32-random-bytes-or-more-please"

var colorPattern = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Validate checks the server block.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen: required, like \":8080\""))
	} else if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %q is not host:port (%v)", c.Listen, err))
	}
	if c.PublicURL == "" {
		errs = append(errs, errors.New("public_url: required: the address browsers use to reach qlikgate, like https://auth.example.com/"))
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("public_url: %q must be an absolute http(s) URL without user, query or fragment", c.PublicURL))
	}
	if c.ReadinessInterval < 10*time.Second {
		errs = append(errs, fmt.Errorf("readiness_interval: %v is too short: the checks call LDAP, issuers and Qlik; use at least 10s", c.ReadinessInterval))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file, or neither"))
	}
	for i, p := range c.TrustedProxies {
		if _, err := parseNet(p); err != nil {
			errs = append(errs, fmt.Errorf("trusted_proxies[%d]: %v", i, err))
		}
	}
	for i, o := range c.FrameAncestors {
		if !frameAncestorPattern.MatchString(o) {
			errs = append(errs, fmt.Errorf("frame_ancestors[%d]: %q is not an origin: write scheme://host[:port] without a path, like https://portal.example.com or https://*.example.com", i, o))
		}
	}
	return errors.Join(errs...)
}

// frameAncestorPattern is an origin, optionally with a wildcard for
// subdomains, and nothing that could end a CSP directive.
var frameAncestorPattern = regexp.MustCompile(`^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?$`)

// Validate checks the session block.
func (c SessionConfig) Validate() error {
	var errs []error
	switch {
	case c.Secret == "":
		errs = append(errs, errors.New("secret: required: at least 32 random bytes (for example from `openssl rand -base64 48`)"))
	case c.Secret == ExampleSecret:
		errs = append(errs, errors.New("secret: still the example value: generate your own (`openssl rand -base64 48`)"))
	case len(c.Secret) < 32:
		errs = append(errs, fmt.Errorf("secret: %d bytes is too short: use at least 32", len(c.Secret)))
	}
	for i, p := range c.PreviousSecrets {
		if len(p) < 32 {
			errs = append(errs, fmt.Errorf("previous_secrets[%d]: %d bytes is too short: use at least 32", i, len(p)))
		}
	}
	if c.Lifetime < time.Minute {
		errs = append(errs, fmt.Errorf("lifetime: %v is too short: use at least 1m", c.Lifetime))
	}
	if c.IdleTimeout < 0 || (c.IdleTimeout > 0 && c.IdleTimeout < time.Minute) {
		errs = append(errs, fmt.Errorf("idle_timeout: %v must be 0 (off) or at least 1m", c.IdleTimeout))
	}
	switch c.Store {
	case "cookie":
		// A Redis URL with the cookie store is a half-done switch: the
		// instances would not share sessions, throttling or logout.
		if c.Redis.URL != "" {
			errs = append(errs, errors.New(`redis.url: set, but store is "cookie": write store: redis to keep sessions in Redis, or remove session.redis`))
		}
		if c.RevocationFile == "" {
			errs = append(errs, errors.New("revocation_file: required with store: cookie: the file that keeps sign-outs across restarts, like /var/lib/qlikgate/revoked.json"))
		}
	case "redis":
		errs = append(errs, keyed("redis.", c.Redis.Validate()))
	default:
		errs = append(errs, fmt.Errorf("store: %q is not supported: use \"cookie\" or \"redis\"", c.Store))
	}
	return errors.Join(errs...)
}

// Validate checks the ui block. It reads the files the block names and
// parses the template overrides, so that a broken one is reported at
// start-up (and by `qlikgate check`) rather than at a user's first visit.
func (c UIConfig) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Title) == "" {
		errs = append(errs, errors.New("title: must not be empty"))
	}
	if !colorPattern.MatchString(c.PrimaryColor) {
		errs = append(errs, fmt.Errorf("primary_color: %q must be a hex colour like #006580", c.PrimaryColor))
	}
	if _, _, err := readLogo(c.LogoFile); err != nil {
		errs = append(errs, err)
	}
	if _, err := readCustomCSS(c.CustomCSSFile); err != nil {
		errs = append(errs, err)
	}
	if c.HelpURL != "" {
		if u, err := url.Parse(c.HelpURL); err != nil || !helpScheme(u.Scheme) || (u.Scheme != "mailto" && u.Host == "") {
			errs = append(errs, fmt.Errorf("help_url: %q must be an absolute https://, http:// or mailto: URL", c.HelpURL))
		}
	}
	if c.HelpText != "" && c.HelpURL == "" {
		errs = append(errs, errors.New("help_text: set help_url too: the text is the link to it"))
	}
	langs := languages()
	if c.DefaultLanguage != "" && !slices.Contains(langs, c.DefaultLanguage) {
		errs = append(errs, fmt.Errorf("default_language: %q is not available: use one of %s", c.DefaultLanguage, strings.Join(langs, ", ")))
	} else if err := checkTemplates(c.TemplatesDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// helpScheme reports whether help_url may use the scheme.
func helpScheme(s string) bool {
	return s == "https" || s == "http" || s == "mailto"
}

func parseNet(s string) (*net.IPNet, error) {
	if !strings.Contains(s, "/") {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		bits := 128
		if ip.To4() != nil {
			ip, bits = ip.To4(), 32
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	return n, nil
}

// keyed prefixes each of the joined errors in err with the block's key
// ("ui."), so that every line names the full key. Errors of the program
// itself ("web: …") are left as they are.
func keyed(prefix string, err error) error {
	var out []error
	for _, e := range keyerr.List(err) {
		if !strings.HasPrefix(e.Error(), "web: ") {
			e = keyerr.Prefix(prefix, e)
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}
