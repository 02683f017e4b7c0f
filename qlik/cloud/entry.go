package cloud

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
)

// maxReturnTo bounds returnto; Qlik URLs are far shorter.
const maxReturnTo = 4096

// ParseEntry validates returnto, the parameter Qlik Cloud's own login uses
// for "where to go afterwards" (contract §3.4). It is the only entry
// parameter of this target.
func (t *JWTTarget) ParseEntry(q url.Values) (qlik.Entry, error) {
	raw := q.Get("returnto")
	if raw == "" {
		return qlik.Entry{}, nil
	}
	dest, err := t.returnTo(raw)
	if err != nil {
		return qlik.Entry{}, fmt.Errorf("%w: returnto %.80q: %v", qlik.ErrBadEntry, raw, err)
	}
	return qlik.Entry{ReturnTo: dest}, nil
}

// returnTo resolves a returnto value to an absolute URL on the tenant or
// an allowlisted host. The browser is sent there by script after the
// login, so anything that could leave those hosts is refused, including
// forms browsers "repair": backslashes, scheme-relative paths, user info,
// encoded slashes and look-alike host names.
func (t *JWTTarget) returnTo(raw string) (string, error) {
	if len(raw) > maxReturnTo {
		return "", fmt.Errorf("longer than %d bytes", maxReturnTo)
	}
	for _, r := range raw {
		if r == '\\' || r <= ' ' || r == 0x7f {
			return "", errors.New("contains a backslash, a space or a control character")
		}
	}
	if strings.HasPrefix(raw, "//") {
		return "", errors.New("scheme-relative URLs are not allowed")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if !u.IsAbs() {
		if u.Host != "" || u.User != nil || u.Opaque != "" {
			return "", errors.New("not a path on the tenant")
		}
		if err := checkPath(u); err != nil {
			return "", err
		}
		return t.tenantBase.ResolveReference(u).String(), nil
	}
	if u.Scheme != "https" {
		return "", errors.New("only https URLs are allowed")
	}
	if u.Opaque != "" || u.Host == "" {
		return "", errors.New("an absolute URL needs https://host/")
	}
	if u.User != nil {
		return "", errors.New("user info (user@host) is not allowed")
	}
	host, err := canonicalHost(u.Host)
	if err != nil {
		return "", fmt.Errorf("host: %v", err)
	}
	if !t.returnHosts[host] {
		return "", fmt.Errorf("host %s is neither the tenant nor in allowed_return_hosts", host)
	}
	if err := checkPath(u); err != nil {
		return "", err
	}
	return u.String(), nil
}

// checkPath refuses paths that decode (once or more) to "//…" or hold a
// backslash: a server on the way that decodes and redirects would turn
// them into a redirect to another host.
func checkPath(u *url.URL) error {
	p := u.EscapedPath()
	for range 3 {
		dec, err := url.PathUnescape(p)
		if err != nil {
			return errors.New("malformed percent-encoding")
		}
		if strings.HasPrefix(dec, "//") || strings.Contains(dec, `\`) {
			return errors.New("the path decodes to a scheme-relative URL or holds a backslash")
		}
		if dec == p {
			return nil
		}
		p = dec
	}
	return errors.New("the path is encoded more than twice")
}
