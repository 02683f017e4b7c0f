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

// returnRule is what a returnto may be: a path on the tenant (relative
// ones too, as in Qlik's own examples) or a URL on the tenant's origin or
// an allowed_return_hosts origin, all https.
func returnRule(tenantBase *url.URL, hosts []string) (qlik.ReturnRule, error) {
	r := qlik.ReturnRule{Origins: qlik.Origins{}, Relative: qlik.AnyRelative, Base: tenantBase, MaxLen: maxReturnTo}
	if err := r.Origins.AddURL(tenantBase.String()); err != nil {
		return qlik.ReturnRule{}, fmt.Errorf("tenant_url: %w", err)
	}
	for i, h := range hosts {
		origin, err := returnOrigin(h)
		if err != nil {
			return qlik.ReturnRule{}, fmt.Errorf("allowed_return_hosts[%d]: %w", i, err)
		}
		r.Origins[origin] = true
	}
	return r, nil
}

// returnOrigin reads an allowed_return_hosts entry. Only https is allowed:
// the tenant is https, and the page must not send a signed-in user to a
// plain-http page.
func returnOrigin(h string) (string, error) {
	origin, err := qlik.ParseOrigin(h, "https")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(origin, "https://") {
		return "", fmt.Errorf("%q must use https", h)
	}
	return origin, nil
}

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
// an allowlisted origin, by the rule every kind uses (qlik.ReturnRule).
// The browser is sent there by script after the login, so anything that
// could leave those origins is refused, including forms browsers "repair":
// backslashes, scheme-relative paths, user info, encoded slashes and
// look-alike host names.
func (t *JWTTarget) returnTo(raw string) (string, error) {
	if strings.Contains(raw, `\`) {
		return "", errors.New("contains a backslash")
	}
	return t.returnCheck.Check(raw)
}
