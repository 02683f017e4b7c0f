package qlikview

import (
	"fmt"
	"net/url"

	"github.com/qlikgate/qlikgate/qlik"
)

// ParseEntry accepts an optional page to land on after login, as `try`
// (QlikView's own name) or `returnto`. AccessPoint sends no parameters to a
// custom login page, so an entry without either is the normal case. The
// page must be a path on the QlikView server or an absolute URL on
// Authenticate.aspx's origin or an allowed_return_hosts origin (scheme,
// host and port): anything else would make qlikgate and QlikView an open
// redirect, or move the user to another scheme of the same host.
func (t *WebTicketTarget) ParseEntry(q url.Values) (qlik.Entry, error) {
	var raw string
	for _, name := range []string{"try", "returnto"} {
		vs := q[name]
		if len(vs) > 1 {
			return qlik.Entry{}, fmt.Errorf("%w: %s given more than once", qlik.ErrBadEntry, name)
		}
		if len(vs) == 1 && vs[0] != "" {
			if raw != "" && raw != vs[0] {
				return qlik.Entry{}, fmt.Errorf("%w: try and returnto differ", qlik.ErrBadEntry)
			}
			raw = vs[0]
		}
	}
	if raw == "" {
		return qlik.Entry{}, nil
	}
	dest, err := t.checkReturn(raw)
	if err != nil {
		return qlik.Entry{}, fmt.Errorf("%w: %v", qlik.ErrBadEntry, err)
	}
	return qlik.Entry{ReturnTo: dest}, nil
}

// checkReturn validates a page to pass as try and returns it as checked.
func (t *WebTicketTarget) checkReturn(raw string) (string, error) {
	dest, err := t.ret.Check(raw)
	if err != nil {
		return "", fmt.Errorf("try %.80q %v: use a path on the QlikView server, or a URL on the origin of %s or in allowed_return_hosts", raw, err, t.authURL)
	}
	return dest, nil
}
