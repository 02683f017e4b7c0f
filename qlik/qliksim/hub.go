package qliksim

import (
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// serveHub is the browser-facing proxy. Everything under the virtual
// proxy's prefix is protected content: a valid qlikTicket or session cookie
// gets the hub page, anything else is sent to the authentication module
// (contract §1.2, §1.4, §1.11).
func (s *Sense) serveHub(w http.ResponseWriter, r *http.Request) {
	rest, ok := s.underHubBase(r.URL.Path)
	if !ok {
		s.logf("hub: %s %s: no virtual proxy with this prefix (want %s…)", r.Method, r.URL.Path, s.hubBase)
		plainError(w, http.StatusNotFound, "Not Found")
		return
	}
	if rest == "qps/user" {
		s.servePersonalAPI(w, r)
		return
	}
	if strings.HasPrefix(rest, "qps/") {
		s.logf("hub: %s %s: 404: the proxy port only serves qps/user (the QPS API is on %s)", r.Method, r.URL.Path, s.proxyRestURI)
		plainError(w, http.StatusNotFound, "Not Found")
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.logf("hub: %s %s: malformed query: %v", r.Method, r.URL.Path, err)
		plainError(w, http.StatusBadRequest, "malformed query string")
		return
	}

	if tickets := ticketValues(query); len(tickets) > 0 {
		// A ticket replaces whatever session the browser had; a bad one
		// leaves it unauthenticated, like a proxy that cannot trust the
		// request any more.
		if len(tickets) > 1 {
			s.rejectTicket(w, r, redact(tickets[0]), "more than one qlikTicket parameter")
			return
		}
		sd, reason, err := s.consumeTicket(tickets[0])
		if err != nil {
			s.logf("hub: %v", err)
			plainError(w, http.StatusInternalServerError, "internal error")
			return
		}
		if reason == limitReason {
			// The proxy shows Qlik's denial instead of the hub; the ticket is spent.
			s.logf("hub: ticket %s: %s", redact(tickets[0]), reason)
			plainError(w, http.StatusForbidden, SessionLimitMessage)
			return
		}
		if reason != "" {
			s.rejectTicket(w, r, redact(tickets[0]), reason)
			return
		}
		http.SetCookie(w, s.sessionCookie(sd.SessionId))
		s.logf("hub: ticket %s consumed: session %s for %s\\%s", redact(tickets[0]), redact(sd.SessionId), sd.UserDirectory, sd.UserId)
		s.serveHubPage(w, r, sd)
		return
	}

	if sd, ok := s.cookieSession(r); ok {
		s.serveHubPage(w, r, sd)
		return
	}
	s.redirectToModule(w, r)
}

// underHubBase returns the path below the virtual proxy prefix. "/hr" counts
// as the prefix itself.
func (s *Sense) underHubBase(p string) (string, bool) {
	if p+"/" == s.hubBase {
		return "", true
	}
	rest, ok := strings.CutPrefix(p, s.hubBase)
	return rest, ok
}

// ticketValues returns every value of the query parameters whose name is
// qlikTicket in any letter case (samples send qlikTicket, QlikTicket and
// qlikticket, contract §1.4).
func ticketValues(q url.Values) []string {
	var out []string
	for k, vs := range q {
		if strings.EqualFold(k, "qlikTicket") {
			out = append(out, vs...)
		}
	}
	return out
}

func (s *Sense) rejectTicket(w http.ResponseWriter, r *http.Request, shortTicket, reason string) {
	s.stats.ticketsRejected.Add(1)
	s.logf("hub: %s %s: ticket %s rejected: %s", r.Method, r.URL.Path, shortTicket, reason)
	s.redirectToModule(w, r)
}

// consumeTicket swaps a ticket for a new proxy session. reason is non-empty
// when the ticket is refused.
func (s *Sense) consumeTicket(tk string) (sd SessionData, reason string, err error) {
	id, err := newUUID()
	if err != nil {
		return SessionData{}, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	// Look before pruning so that the log tells a replay or an expiry
	// apart from a ticket that never existed.
	t, ok := s.st.tickets[tk]
	switch {
	case !ok:
		reason = "unknown ticket"
	case t.used:
		reason = "ticket already used (tickets are valid once)"
	case !now.Before(t.expires):
		reason = "ticket expired"
	}
	s.st.prune(now)
	if reason != "" {
		return SessionData{}, reason, nil
	}
	t.used = true
	s.stats.ticketsConsumed.Add(1)
	sd = copySession(t.user)
	sd.SessionId = id
	if !s.st.admit(sd, false) {
		return SessionData{}, limitReason, nil
	}
	if _, ok := s.st.addSession(sd); !ok {
		return SessionData{}, "", errUUIDCollision
	}
	s.stats.sessionsCreated.Add(1)
	return copySession(sd), "", nil
}

// cookieSession returns the session named by the browser's session cookie.
func (s *Sense) cookieSession(r *http.Request) (SessionData, bool) {
	c, err := r.Cookie(s.cookieName)
	if err != nil {
		return SessionData{}, false
	}
	sd, ok := s.Session(c.Value)
	if !ok {
		s.logf("hub: %s %s: unknown session cookie %s=%s", r.Method, r.URL.Path, s.cookieName, redact(c.Value))
	}
	return sd, ok
}

// sessionCookie is the cookie the proxy sets, with the observed attributes
// (contract §1.8): Path=/, HttpOnly, and Secure on HTTPS.
func (s *Sense) sessionCookie(id string) *http.Cookie {
	return &http.Cookie{
		Name:     s.cookieName,
		Value:    id,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.opts.HubTLS,
	}
}

// redirectToModule sends an anonymous browser to the authentication module
// with proxyRestUri and a fresh targetId that remembers the requested URL.
func (s *Sense) redirectToModule(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// The proxy only starts authentication on a GET (contract §1.2).
		s.logf("hub: %s %s: not authenticated and not a GET", r.Method, r.URL.Path)
		plainError(w, http.StatusUnauthorized, "not authenticated")
		return
	}
	s.mu.Lock()
	module := s.moduleURL
	s.mu.Unlock()
	if module == "" {
		s.logf("hub: %s %s: no authentication module configured", r.Method, r.URL.Path)
		plainError(w, http.StatusServiceUnavailable, "no authentication module configured")
		return
	}
	mu, err := url.Parse(module)
	if err != nil || !mu.IsAbs() {
		s.logf("hub: authentication module redirect URI %q is not an absolute URL", module)
		plainError(w, http.StatusServiceUnavailable, "authentication module redirect URI is invalid")
		return
	}
	id, err := newUUID()
	if err != nil {
		s.logf("hub: %v", err)
		plainError(w, http.StatusInternalServerError, "internal error")
		return
	}
	targetURI := s.requestedURL(r)
	s.mu.Lock()
	now := s.opts.Now()
	s.st.prune(now)
	s.st.addTarget(id, target{uri: targetURI, expires: now.Add(targetIDTTL)})
	s.mu.Unlock()

	q := "proxyRestUri=" + lowerPercentEncode(s.proxyRestURI) + "&targetId=" + id
	if mu.RawQuery != "" {
		mu.RawQuery += "&" + q
	} else {
		mu.RawQuery = q
	}
	s.logf("hub: %s %s: not authenticated, redirecting to the module with targetId %s", r.Method, r.URL.Path, id)
	w.Header().Set("Location", mu.String())
	w.WriteHeader(http.StatusFound)
}

// requestedURL is the absolute URL the browser asked for, without any
// qlikTicket parameter (a stale ticket must not travel into TargetUri,
// where the module would add a second one).
func (s *Sense) requestedURL(r *http.Request) string {
	scheme := "http"
	if s.opts.HubTLS {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath}
	var kept []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && strings.EqualFold(n, "qlikTicket") {
			continue
		}
		kept = append(kept, part)
	}
	u.RawQuery = strings.Join(kept, "&")
	return u.String()
}

// serveHubPage renders the stand-in for the hub: who is logged in, with
// which attributes, on which path, so tests can assert all three. It is
// written out by hand rather than with html/template, whose reflection
// made the page a noticeable part of the load tool's own CPU; every value
// is escaped the same way.
func (s *Sense) serveHubPage(w http.ResponseWriter, r *http.Request, sd SessionData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Qlik Sense hub (qliksim)</title></head>
<body>
<h1 id="user">`)
	b.WriteString(html.EscapeString(sd.UserDirectory + `\` + sd.UserId))
	b.WriteString("</h1>\n<ul id=\"attributes\">")
	for _, m := range sd.Attributes {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			b.WriteString("\n<li>" + html.EscapeString(k) + "=" + html.EscapeString(m[k]) + "</li>")
		}
	}
	b.WriteString("\n</ul>\n<p id=\"path\">" + html.EscapeString(r.URL.Path) + "</p>\n</body></html>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		s.logf("hub: write page: %v", err)
	}
}

// servePersonalAPI is GET/DELETE /{prefix}/qps/user on the proxy port: the
// cookie-authenticated API a browser uses to see or end its own session
// (contract §1.5).
func (s *Sense) servePersonalAPI(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET, DELETE")
		plainError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	sd, ok := s.cookieSession(r)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]string{"session": "inactive"})
		return
	}
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]string{
			"userDirectory": sd.UserDirectory, "userId": sd.UserId, "session": "active",
		})
		return
	}
	s.mu.Lock()
	s.st.drop(sd.SessionId)
	s.mu.Unlock()
	s.logf("hub: session %s of %s\\%s logged out by its owner", redact(sd.SessionId), sd.UserDirectory, sd.UserId)
	writeJSON(w, http.StatusOK, map[string]string{
		"userDirectory": sd.UserDirectory, "userId": sd.UserId, "session": "inactive",
	})
}
