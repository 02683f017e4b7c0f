package qlikview

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
)

// ParseEntry accepts an optional page to land on after login, as `try`
// (QlikView's own name) or `returnto`. AccessPoint sends no parameters to a
// custom login page, so an entry without either is the normal case. The
// page must be a path on the QlikView server or an absolute URL on its
// host or an allowed_return_hosts host: anything else would make qlikgate
// and QlikView an open redirect.
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
	if err := t.checkReturn(raw); err != nil {
		return qlik.Entry{}, fmt.Errorf("%w: %v", qlik.ErrBadEntry, err)
	}
	return qlik.Entry{ReturnTo: raw}, nil
}

// checkReturn validates a page to pass as try.
func (t *WebTicketTarget) checkReturn(raw string) error {
	if err := checkTarget(raw); err != nil {
		return err
	}
	if strings.HasPrefix(raw, "/") {
		return nil
	}
	u, _ := url.Parse(raw) // checked by checkTarget
	host := strings.ToLower(u.Host)
	if host == t.qvHost || t.allowed[host] || t.allowed[strings.ToLower(u.Hostname())] {
		return nil
	}
	return fmt.Errorf("host %q is neither the QlikView server nor in allowed_return_hosts", u.Host)
}
