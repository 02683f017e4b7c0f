package qliksim

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Web integration header and query parameter (contract §3.3, §3.4).
const (
	cloudWIHeader = "Qlik-Web-Integration-ID"
	cloudWIParam  = "qlik-web-integration-id"
)

// cloudCORSAllowedHeaders are the request headers a browser script may send.
var cloudCORSAllowedHeaders = []string{"authorization", "content-type", "qlik-web-integration-id", "qlik-csrf-token"}

const (
	cloudCORSAllowHeaders  = "Authorization, Content-Type, Qlik-Web-Integration-ID, qlik-csrf-token"
	cloudCORSAllowMethods  = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
	cloudCORSExposeHeaders = "qlik-csrf-token"
)

// cors applies the web integration's rules to a request and reports whether
// the handler may go on. A request without Origin is not a browser's
// cross-origin call (a server replaying cookies, contract §3.3) and passes.
// From a foreign origin, a request passes only if the origin is in
// ValidOrigins and the web integration id matches; otherwise:
//   - a preflight gets 403 without CORS headers, so the browser never
//     sends the real request;
//   - a GET is served without CORS headers: the browser hides the answer
//     from the script;
//   - anything else is refused with 403, so no session is created for a
//     script the tenant does not trust.
func (c *Cloud) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if o, err := canonicalWebOrigin(origin); err == nil && o == c.url {
		return true // the tenant's own pages
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if proceed, handled := c.oauthCORS(w, r, origin, preflight); handled {
		return proceed
	}
	reason := c.corsDenial(r, origin, preflight)
	if reason != "" {
		c.stats.corsDenied.Add(1)
		c.logf("CORS: %s %s from origin %q denied: %s", r.Method, r.URL.Path, origin, reason)
		switch {
		case preflight:
			w.WriteHeader(http.StatusForbidden)
			return false
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			return true
		default:
			writeCloudError(w, http.StatusForbidden, "Forbidden", "origin not allowed by the web integration", "CORS-1")
			return false
		}
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if preflight {
		h.Set("Access-Control-Allow-Methods", cloudCORSAllowMethods)
		h.Set("Access-Control-Allow-Headers", cloudCORSAllowHeaders)
		h.Set("Access-Control-Max-Age", "600")
		c.stats.preflightsOK.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	h.Set("Access-Control-Expose-Headers", cloudCORSExposeHeaders)
	return true
}

// corsDenial returns why a cross-origin request is refused, or "".
// A preflight carries no custom header values, so there the web
// integration id can only come from the query: that is why browser code
// sends it both ways.
func (c *Cloud) corsDenial(r *http.Request, origin string, preflight bool) string {
	canon, err := canonicalWebOrigin(origin)
	if err != nil {
		return "malformed Origin: " + err.Error()
	}
	if !c.origins[canon] {
		return "origin is not in the web integration's valid origins"
	}
	id := r.URL.Query().Get(cloudWIParam)
	if !preflight && id == "" {
		id = r.Header.Get(cloudWIHeader)
	}
	switch {
	case c.opts.WebIntegrationID == "":
		return "the tenant has no web integration"
	case id == "" && preflight:
		return "no " + cloudWIParam + " query parameter (a preflight carries no header values)"
	case id == "":
		return "no " + cloudWIHeader + " header or " + cloudWIParam + " parameter"
	case id != c.opts.WebIntegrationID:
		return "web integration id " + id + " is unknown"
	}
	if preflight {
		for _, h := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
			h = strings.ToLower(strings.TrimSpace(h))
			if h != "" && !slices.Contains(cloudCORSAllowedHeaders, h) {
				return "request header " + h + " is not allowed"
			}
		}
	}
	return ""
}

// canonicalWebOrigin returns scheme://host[:port] in lower case with the
// default port dropped, the form browsers send in Origin. Anything else
// (paths, wildcards, user info) is an error: web integrations hold exact
// origins only (contract §3.4).
func canonicalWebOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", errors.New("scheme must be https or http")
	}
	if u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Host, "*") {
		return "", errors.New("want scheme://host[:port] without path, wildcard or user info")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port == "" {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return u.Scheme + "://" + host, nil
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port), nil
}
