package qliksim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// serveAuthenticate is GET /QvAJAXZfc/Authenticate.aspx?type=html&webticket=T&try=U&back=B
// (contract §2.3). try and back must pass the SafeForwardList before the
// ticket is even looked at; a valid, unused, unexpired ticket is consumed
// for a session cookie and the browser goes to try, anything else goes to
// back.
func (q *QlikView) serveAuthenticate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		plainError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	params, err := qvQuery(r.URL.RawQuery)
	if err != nil {
		q.authRefused(w, r, err.Error())
		return
	}
	if !strings.EqualFold(params["type"], "html") {
		q.authRefused(w, r, fmt.Sprintf("type is %q, want html", params["type"]))
		return
	}
	try, back := params["try"], params["back"]
	if try == "" {
		q.authRefused(w, r, "try is missing")
		return
	}
	if reason := q.forwardRefusal(try); reason != "" {
		q.authRefused(w, r, "try: "+reason)
		return
	}
	if back != "" {
		if reason := q.forwardRefusal(back); reason != "" {
			q.authRefused(w, r, "back: "+reason)
			return
		}
	}
	tk := params["webticket"]
	sess, reason := q.consumeWebTicket(tk)
	if reason != "" {
		q.stats.rejected.Add(1)
		q.logf("Authenticate: ticket %s rejected: %s", redact(tk), reason)
		if back == "" {
			plainError(w, http.StatusForbidden, "The web ticket is not valid.")
			return
		}
		qvRedirect(w, back)
		return
	}
	id, err := newQVSessionID()
	if err != nil {
		q.logf("Authenticate: %v", err)
		plainError(w, http.StatusInternalServerError, "internal error")
		return
	}
	q.mu.Lock()
	q.sessions[id] = sess
	q.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: QlikViewCookieName, Value: id, Path: "/", HttpOnly: true, Secure: q.opts.TLS})
	q.logf("Authenticate: ticket %s consumed: session %s for %q", redact(tk), redact(id), sess.UserID)
	qvRedirect(w, try)
}

func (q *QlikView) authRefused(w http.ResponseWriter, r *http.Request, reason string) {
	q.logf("Authenticate: %s: 400: %s", r.URL.Path, reason)
	plainError(w, http.StatusBadRequest, "Authenticate.aspx: "+reason)
}

// qvQuery parses a query the way ASP.NET reads it: names without regard to
// case. A repeated name is refused (ASP.NET would join the values with a
// comma, which is never what a client meant).
func qvQuery(raw string) (map[string]string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("malformed query: %v", err)
	}
	out := map[string]string{}
	for k, vs := range q {
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup || len(vs) != 1 {
			return nil, fmt.Errorf("parameter %q given more than once", lk)
		}
		out[lk] = vs[0]
	}
	return out, nil
}

// consumeWebTicket marks a ticket used and returns its session; reason is
// set when the ticket is refused.
func (q *QlikView) consumeWebTicket(tk string) (QlikViewSession, string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	// Look before pruning so that the log tells a replay or an expiry
	// apart from a ticket that never existed.
	t, ok := q.tickets[tk]
	var reason string
	switch {
	case tk == "":
		reason = "webticket missing"
	case !ok:
		reason = "unknown ticket"
	case t.used:
		reason = "ticket already used"
	case !q.opts.Now().Before(t.expires):
		reason = "ticket expired"
	}
	q.pruneTickets()
	if reason != "" {
		return QlikViewSession{}, reason
	}
	t.used = true
	q.stats.consumed.Add(1)
	return copyQVSession(t.session), ""
}

// forwardRefusal emulates the SafeForwardList: a path on this server, or
// an absolute http(s) URL on this server's host or a listed host. It
// returns why target is refused, or "".
func (q *QlikView) forwardRefusal(target string) string {
	for _, c := range target {
		// Browsers drop tabs and newlines from URLs, so "/\t/evil" would
		// become "//evil".
		if c < 0x20 || c == 0x7f || c == ' ' {
			return fmt.Sprintf("%q holds a control character or space", target)
		}
	}
	if strings.HasPrefix(target, "/") {
		if strings.HasPrefix(target, "//") || strings.HasPrefix(target, `/\`) {
			return fmt.Sprintf("%q is a scheme-relative URL that leaves this server", target)
		}
		return ""
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Sprintf("%q is neither a path starting with / nor an absolute http(s) URL", target)
	}
	host := strings.ToLower(u.Host)
	q.mu.Lock()
	defer q.mu.Unlock()
	if host == strings.ToLower(q.host) {
		return ""
	}
	for _, h := range q.safeForward {
		if h == host || h == strings.ToLower(u.Hostname()) {
			return ""
		}
	}
	return fmt.Sprintf("host %q is not in the SafeForwardList", u.Host)
}

func qvRedirect(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

func newQVSessionID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate session id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
