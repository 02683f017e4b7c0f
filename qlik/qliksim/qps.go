package qliksim

import (
	"net/http"
	"net/url"
	"strings"
)

// xsrfMessage is the QPS's body for any xrfkey problem (contract §1.3).
const xsrfMessage = "XSRF prevention check failed. Possible XSRF discovered."

// serveQPS is the QPS REST API (port 4243 on a real node). Mutual TLS has
// already been enforced by the listener; every request must then pass the
// xrfkey check before it is routed.
func (s *Sense) serveQPS(w http.ResponseWriter, r *http.Request) {
	s.stats.qpsRequests.Add(1)
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing {
		s.logf("QPS: %s %s: 503: the node is failing (SetFailing)", r.Method, r.URL.Path)
		plainError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	if reason := checkXrfkey(r); reason != "" {
		s.logf("QPS: %s %s: 403: %s", r.Method, r.URL.Path, reason)
		plainError(w, http.StatusForbidden, xsrfMessage)
		return
	}
	segs, ok := s.qpsPath(r.URL)
	if !ok {
		s.logf("QPS: %s %s: 404: not an API path under %s", r.Method, r.URL.Path, s.qpsBase)
		plainError(w, http.StatusNotFound, "Not Found")
		return
	}

	type route struct {
		methods string // allowed methods, for Allow
		handle  func(http.ResponseWriter, *http.Request, []string)
	}
	var rt route
	switch {
	case len(segs) == 1 && segs[0] == "ticket":
		rt = route{"POST", s.handleTicket}
	case len(segs) == 1 && segs[0] == "session":
		rt = route{"GET, POST", s.handleSessions}
	case len(segs) == 2 && segs[0] == "session":
		rt = route{"GET, DELETE", s.handleSession}
	case len(segs) == 3 && segs[0] == "user":
		rt = route{"GET, DELETE", s.handleUser}
	default:
		s.logf("QPS: %s %s: 404: unknown endpoint", r.Method, r.URL.Path)
		plainError(w, http.StatusNotFound, "Not Found")
		return
	}
	if !methodIn(r.Method, rt.methods) {
		s.logf("QPS: %s %s: 405: allowed %s", r.Method, r.URL.Path, rt.methods)
		w.Header().Set("Allow", rt.methods)
		plainError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	rt.handle(w, r, segs)
}

// qpsPath splits the path below the API base into unescaped segments. An
// empty segment (a double or trailing slash) or a missing prefix is not a
// route: a client that joins URLs sloppily must notice.
func (s *Sense) qpsPath(u *url.URL) ([]string, bool) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), s.qpsBase)
	if !ok || rest == "" {
		return nil, false
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil || v == "" {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}

func methodIn(m, list string) bool {
	for _, a := range strings.Split(list, ", ") {
		if m == a {
			return true
		}
	}
	return false
}

// checkXrfkey enforces contract §1.6: the xrfkey query parameter (name in
// any letter case) and the X-Qlik-Xrfkey header must each appear once,
// hold 16 characters from [0-9a-zA-Z], and be equal. It returns the reason
// for refusing, or "".
func checkXrfkey(r *http.Request) string {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "malformed query string: " + err.Error()
	}
	var inQuery []string
	for k, vs := range q {
		if strings.EqualFold(k, "xrfkey") {
			inQuery = append(inQuery, vs...)
		}
	}
	inHeader := r.Header.Values("X-Qlik-Xrfkey")
	switch {
	case len(inQuery) == 0:
		return "xrfkey query parameter missing"
	case len(inQuery) > 1:
		return "more than one xrfkey query parameter"
	case len(inHeader) == 0:
		return "X-Qlik-Xrfkey header missing"
	case len(inHeader) > 1:
		return "more than one X-Qlik-Xrfkey header"
	}
	qk, hk := inQuery[0], inHeader[0]
	if reason := badXrfkey(qk); reason != "" {
		return "xrfkey query parameter " + reason
	}
	if reason := badXrfkey(hk); reason != "" {
		return "X-Qlik-Xrfkey header " + reason
	}
	if qk != hk {
		return "xrfkey query parameter and X-Qlik-Xrfkey header differ"
	}
	return ""
}

func badXrfkey(k string) string {
	if len(k) != 16 {
		return "must be 16 characters long"
	}
	if !isAlphanumeric(k) {
		return "may only hold 0-9, a-z and A-Z"
	}
	return ""
}
