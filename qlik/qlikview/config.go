// Package qlikview hands users to QlikView (QVWS or IIS with AccessPoint)
// with a web ticket: the module asks GetWebTicket.aspx for a ticket for
// the user and their groups, then sends the browser to Authenticate.aspx,
// which swaps the ticket for a QlikView session cookie.
package qlikview

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// Config is the `qlikview:` block of a target.
type Config struct {
	// WebTicketURL is GetWebTicket.aspx as the module reaches it, e.g.
	// https://qv.corp.local/QvAJAXZfc/GetWebTicket.aspx. Required.
	WebTicketURL string `yaml:"webticket_url"`
	// AuthenticateURL is Authenticate.aspx as browsers reach it. Default:
	// next to webticket_url. Set it when browsers use another name for
	// the server than the module does.
	AuthenticateURL string `yaml:"authenticate_url"`
	// TryURL is where QlikView sends the browser once the ticket is
	// accepted, unless the entry named a page: a path on the QlikView
	// server or an absolute URL. Default /QlikView/ (AccessPoint).
	TryURL string `yaml:"try_url"`
	// BackURL is where QlikView sends the browser when the ticket is
	// refused. Default: this target's entry in qlikgate
	// ({public_url}t/{id}/), so the user is handed over again or sees
	// qlikgate's diagnostic page.
	BackURL string `yaml:"back_url"`
	// LogoutURL is where the browser goes to end its QlikView session on
	// logout: a page on the QlikView server that posts the AccessPoint
	// logout (see docs/qlik/qlikview.md). Empty: QlikView sessions are left
	// to expire.
	LogoutURL string `yaml:"logout_url"`
	// AllowedReturnHosts are origins an entry's try/returnto may point to,
	// besides paths on the QlikView server and Authenticate.aspx's own
	// origin: "host" or "host:port" with the scheme (and default port) of
	// authenticate_url, or "scheme://host[:port]" for another scheme. Keep
	// it in step with the SafeForwardList in QlikView's config.xml.
	AllowedReturnHosts []string `yaml:"allowed_return_hosts"`

	// GroupsAreNames is sent as GroupsIsNames: true for group names (DMS
	// authorization), false for Windows SIDs (NTFS authorization).
	GroupsAreNames bool `yaml:"groups_are_names"`
	// SendDomain prefixes the user id with a domain: DOMAIN\user.
	SendDomain bool `yaml:"send_domain"`
	// Domain is that prefix. Default: the user's directory from the
	// provider (its `directory:`), as Qlik Sense names users.
	Domain string `yaml:"domain"`

	// CAFile holds extra PEM CA certificates for an HTTPS web server
	// signed by a private CA; the system roots stay trusted.
	CAFile string `yaml:"ca_file"`
	// Timeout bounds each GetWebTicket call, NTLM handshake included.
	Timeout time.Duration `yaml:"timeout"`
	// NTLM, when set, authenticates GetWebTicket calls as a Windows
	// account in the "QlikView Administrators" group, for servers that
	// trust callers by Windows login rather than by IP address.
	NTLM *NTLMConfig `yaml:"ntlm"`
}

// NTLMConfig is a Windows account for NTLM authentication.
type NTLMConfig struct {
	// Username is the account's name, alone or as DOMAIN\user.
	Username string `yaml:"username"`
	// Password is the account's password. It never leaves qlikgate: NTLMv2
	// sends only a response computed from it.
	Password string `yaml:"password" secret:"true"`
	// Domain is the account's NetBIOS domain; it may instead be given in
	// username as DOMAIN\user.
	Domain string `yaml:"domain"`
}

// DefaultConfig returns a configuration with the defaults filled in.
func DefaultConfig() *Config {
	return &Config{
		TryURL:         "/QlikView/",
		GroupsAreNames: true,
		SendDomain:     true,
		Timeout:        10 * time.Second,
	}
}

// maxReturnLen bounds try/returnto: the entry travels in qlikgate's
// session cookie.
const maxReturnLen = 2000

// Validate reports every problem with the block, without reading files.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.WebTicketURL == "" {
		add("webticket_url: required (GetWebTicket.aspx on the QlikView web server, like https://qv.corp.local/QvAJAXZfc/GetWebTicket.aspx)")
	} else if err := checkPageURL(c.WebTicketURL, "GetWebTicket.aspx"); err != nil {
		add("webticket_url: %v", err)
	}
	if c.AuthenticateURL != "" {
		if err := checkPageURL(c.AuthenticateURL, "Authenticate.aspx"); err != nil {
			add("authenticate_url: %v", err)
		}
	}
	if c.TryURL == "" {
		add("try_url: must not be empty (AccessPoint is /QlikView/)")
	} else if err := checkTarget(c.TryURL); err != nil {
		add("try_url: %v", err)
	}
	if c.BackURL != "" {
		if err := checkTarget(c.BackURL); err != nil {
			add("back_url: %v", err)
		}
	}
	if c.LogoutURL != "" {
		if err := checkAbsolute(c.LogoutURL); err != nil {
			add("logout_url: %v", err)
		}
	}
	for i, h := range c.AllowedReturnHosts {
		if _, err := qlik.ParseOrigin(h, "https"); err != nil {
			add("allowed_return_hosts[%d]: %v", i, err)
		}
	}
	if c.Domain != "" {
		if !c.SendDomain {
			add("domain: set, but send_domain is false: remove one of them")
		}
		if err := checkDomain(c.Domain); err != nil {
			add("domain: %v", err)
		}
	}
	if c.CAFile != "" && !strings.HasPrefix(strings.ToLower(c.WebTicketURL), "https:") {
		add("ca_file: set, but webticket_url does not use https")
	}
	if c.Timeout <= 0 {
		add("timeout: must be positive")
	}
	if c.NTLM != nil {
		errs = append(errs, c.NTLM.validate()...)
	}
	return errors.Join(errs...)
}

func (n *NTLMConfig) validate() []error {
	var errs []error
	user, dom, hasDom := strings.Cut(n.Username, `\`)
	switch {
	case strings.TrimSpace(n.Username) == "":
		errs = append(errs, errors.New("ntlm.username: required (a member of QlikView Administrators on the QlikView server)"))
	case hasDom && n.Domain != "":
		errs = append(errs, errors.New(`ntlm.username: give the domain either as DOMAIN\user or in ntlm.domain, not both`))
	case hasDom && (dom == "" || user == "" || strings.Contains(user, `\`)):
		errs = append(errs, fmt.Errorf(`ntlm.username: %q is not DOMAIN\user`, n.Username))
	}
	if n.Password == "" {
		errs = append(errs, errors.New("ntlm.password: required (or ntlm.password_file)"))
	}
	if n.Domain != "" {
		if err := checkDomain(n.Domain); err != nil {
			errs = append(errs, fmt.Errorf("ntlm.domain: %v", err))
		}
	}
	return errs
}

// account is the user name for the NTLM library, DOMAIN\user or user.
func (n *NTLMConfig) account() string {
	if n.Domain != "" {
		return n.Domain + `\` + n.Username
	}
	return n.Username
}

// checkPageURL requires an absolute http(s) URL to the named QlikView page.
func checkPageURL(raw, page string) error {
	if err := checkAbsolute(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not have a query or fragment", raw)
	}
	if !strings.EqualFold(path.Base(u.Path), page) {
		return fmt.Errorf("%q must point to %s (usually /QvAJAXZfc/%s)", raw, page, page)
	}
	return nil
}

func checkAbsolute(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q must be an absolute http(s) URL without user info", raw)
	}
	if _, err := qlik.CanonicalOrigin(u); err != nil {
		return fmt.Errorf("%q must be an absolute http(s) URL without user info: %v", raw, err)
	}
	return nil
}

// checkTarget accepts what QlikView's try and back can hold: a path on the
// QlikView server or an absolute http(s) URL.
func checkTarget(raw string) error {
	if err := checkChars(raw); err != nil {
		return err
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, `/\`) {
			return fmt.Errorf("%q is a scheme-relative URL: write the scheme, or a path starting with a single /", raw)
		}
		return nil
	}
	if err := checkAbsolute(raw); err != nil {
		return fmt.Errorf("%q must be a path starting with / or an absolute http(s) URL", raw)
	}
	return nil
}

// checkChars refuses what browsers silently drop or rewrite in URLs (tabs
// and newlines: "/\t/evil" becomes "//evil") and over-long values.
func checkChars(raw string) error {
	if len(raw) > maxReturnLen {
		return fmt.Errorf("%.40q… is longer than %d characters", raw, maxReturnLen)
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || r == ' ' {
			return fmt.Errorf("%q holds a space or control character", raw)
		}
	}
	return nil
}

// checkDomain refuses what would make DOMAIN\user ambiguous.
func checkDomain(d string) error {
	if strings.TrimSpace(d) == "" || strings.ContainsAny(d, `\/@ `) {
		return fmt.Errorf("%q must be a domain name like CORP, without \\, /, @ or spaces", d)
	}
	for _, r := range d {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q holds a control character", d)
		}
	}
	return nil
}
