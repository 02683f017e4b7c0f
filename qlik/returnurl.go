package qlik

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Origins is a set of origins a browser may be sent to, each in the
// canonical form CanonicalOrigin returns (scheme://host:port, lower case,
// explicit port). Every target kind checks its return URLs against one, so
// that "the same origin" means the same thing for all of them: the scheme,
// the host and the port must all match; a default port and an explicit one
// are equal.
type Origins map[string]bool

// AddURL adds the origin of an absolute URL from the configuration.
func (o Origins) AddURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	origin, err := CanonicalOrigin(u)
	if err != nil {
		return err
	}
	o[origin] = true
	return nil
}

// CanonicalOrigin returns u's origin as scheme://host:port with the host in
// lower case and the scheme's default port written out. Only http and https
// URLs without user info, on an IP address or an ASCII host name, have one:
// a Unicode or percent-encoded host is refused rather than compared, since
// browsers map look-alike characters (U+212A KELVIN SIGN lower-cases to
// "k") to hosts the comparison never saw; write such names in xn-- form.
func CanonicalOrigin(u *url.URL) (string, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q is not an http(s) URL", u.Redacted())
	}
	if u.Opaque != "" || u.Host == "" {
		return "", fmt.Errorf("%q has no host (write scheme://host/)", u.Redacted())
	}
	if u.User != nil {
		return "", errors.New("user info (user@host) is not allowed")
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return "", err
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("%q has an empty port", u.Redacted())
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not 1…65535", port)
	}
	return u.Scheme + "://" + net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// canonicalHost accepts an IP address or an ASCII host name (letters,
// digits, '-' and '.', no empty label, no trailing dot) and returns it in
// lower case; IPv6 addresses in their shortest form.
func canonicalHost(h string) (string, error) {
	if ip := net.ParseIP(h); ip != nil {
		if strings.Contains(h, ":") && ip.To4() != nil {
			// An IPv4-mapped IPv6 address is another origin than the
			// IPv4 address to a browser, though Go prints both alike.
			return "::ffff:" + ip.To4().String(), nil
		}
		return ip.String(), nil
	}
	ok := h != "" && len(h) <= 253 && !strings.HasPrefix(h, ".") && !strings.HasSuffix(h, ".") && !strings.Contains(h, "..")
	for i := 0; ok && i < len(h); i++ {
		c := h[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
	}
	if !ok {
		return "", fmt.Errorf("host %q is not an ASCII host name or IP address (write an international name in its xn-- form)", h)
	}
	return strings.ToLower(h), nil
}

// ParseOrigin reads an allowlist entry from the configuration: "host" or
// "host:port", which take scheme (the scheme of the Qlik server the list
// belongs to) and its default port, or "scheme://host[:port]" for another
// scheme. It returns the canonical origin.
func ParseOrigin(entry, scheme string) (string, error) {
	raw := entry
	if strings.Contains(entry, "://") {
		u, err := url.Parse(entry)
		if err != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			return "", fmt.Errorf("%q must be host, host:port or scheme://host[:port], without path, query or wildcard", entry)
		}
	} else {
		if entry == "" || strings.ContainsAny(entry, "/\\@?#%* \t") {
			return "", fmt.Errorf("%q must be host, host:port or scheme://host[:port], without path, query or wildcard", entry)
		}
		raw = scheme + "://" + entry + "/"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid host[:port]", entry)
	}
	origin, err := CanonicalOrigin(u)
	if err != nil {
		return "", fmt.Errorf("%q: %v", entry, err)
	}
	return origin, nil
}

// Relative says which relative references a ReturnRule accepts.
type Relative int

const (
	// NoRelative refuses every relative reference.
	NoRelative Relative = iota
	// RootedRelative accepts paths that start with a single "/".
	RootedRelative
	// AnyRelative also accepts paths like "app/1" (Qlik Cloud's own
	// returnto examples), resolved against the rule's Base.
	AnyRelative
)

// ReturnRule is what one kind accepts as a place to send a browser after
// login: absolute URLs on Origins, and relative references as Relative
// says. It refuses what browsers parse differently from Go: a backslash
// before the query (WHATWG reads it as "/"), spaces and control characters
// (tabs and newlines are dropped, so "/\t/evil" becomes "//evil"),
// scheme-relative "//host", "https:host" without slashes, and paths that
// decode, once or more, to "//" or a backslash, which a server on the way
// that decodes and redirects would turn into another host.
type ReturnRule struct {
	Origins  Origins
	Relative Relative
	// Base, when set, is what relative references resolve against: Check
	// then returns an absolute URL. Without it they are returned as given,
	// for Qlik to resolve on its own server.
	Base *url.URL
	// MaxLen bounds the value: it travels in qlikgate's session cookie.
	MaxLen int
}

// Check returns the URL to send the browser to, or why raw is refused.
func (r ReturnRule) Check(raw string) (string, error) {
	if r.MaxLen > 0 && len(raw) > r.MaxLen {
		return "", fmt.Errorf("longer than %d characters", r.MaxLen)
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f {
			return "", errors.New("holds a space or control character")
		}
	}
	head, _, _ := strings.Cut(raw, "?")
	head, _, _ = strings.Cut(head, "#")
	if strings.Contains(head, `\`) {
		return "", errors.New("holds a backslash before the query, which browsers read as /")
	}
	if strings.HasPrefix(raw, "//") {
		return "", errors.New("is a scheme-relative URL (//host): write the scheme, or a path starting with a single /")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("is not a URL")
	}
	if !u.IsAbs() {
		return r.relative(raw, u)
	}
	origin, err := CanonicalOrigin(u)
	if err != nil {
		return "", err
	}
	if !r.Origins[origin] {
		return "", fmt.Errorf("origin %s is not allowed (scheme, host and port must match an allowed origin)", origin)
	}
	if err := checkPath(u); err != nil {
		return "", err
	}
	return u.String(), nil
}

func (r ReturnRule) relative(raw string, u *url.URL) (string, error) {
	switch {
	case r.Relative == NoRelative:
		return "", errors.New("must be an absolute URL")
	case r.Relative == RootedRelative && !strings.HasPrefix(raw, "/"):
		return "", errors.New("must be an absolute URL or a path starting with /")
	case u.Host != "" || u.User != nil || u.Opaque != "":
		return "", errors.New("is not a path")
	}
	if err := checkPath(u); err != nil {
		return "", err
	}
	if r.Base == nil {
		return raw, nil
	}
	return r.Base.ResolveReference(u).String(), nil
}

// checkPath refuses paths that decode (up to three times) to one holding
// "//" or a backslash.
func checkPath(u *url.URL) error {
	p := u.EscapedPath()
	for range 3 {
		dec, err := url.PathUnescape(p)
		if err != nil {
			return errors.New("malformed percent-encoding in the path")
		}
		if strings.Contains(dec, "//") || strings.Contains(dec, `\`) {
			return errors.New("the path holds, or decodes to, // or a backslash")
		}
		if dec == p {
			return nil
		}
		p = dec
	}
	return errors.New("the path is encoded more than twice")
}
