package qliksim

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// serveHub stands in for every page of the tenant (hub, apps, …): a
// signed-in browser sees who it is, anyone else is sent to the
// interactive login with returnto=<the URL asked for>.
func (c *Cloud) serveHub(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use GET", "HTTP-405")
		return
	}
	if _, s, ok := c.session(r); ok {
		if u, ok := c.User(s.subject); ok {
			c.serveHubPage(w, r, u)
			return
		}
	}
	c.redirectToLogin(w, r, c.url+r.URL.RequestURI())
}

// serveInteractiveLogin is GET /login?returnto=…: the tenant validates
// returnto (relative, on the tenant, or on an origin of the web
// integration named by its id) and sends the browser to its interactive
// identity provider (contract §3.4), here LoginURL.
func (c *Cloud) serveInteractiveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use GET", "HTTP-405")
		return
	}
	q := r.URL.Query()
	id := q.Get(cloudWIParam)
	if id == "" {
		id = r.Header.Get(cloudWIHeader)
	}
	dest, ok := c.tenantReturnTo(q.Get("returnto"), id)
	if !ok {
		c.logf("login: 400: returnto %q is neither on the tenant nor on a valid origin of the web integration", q.Get("returnto"))
		writeCloudError(w, http.StatusBadRequest, "Bad Request", "invalid returnto", "LOGIN-2")
		return
	}
	c.redirectToLogin(w, r, dest)
}

// tenantReturnTo resolves returnto the way /login accepts it.
func (c *Cloud) tenantReturnTo(raw, integrationID string) (string, bool) {
	if raw == "" {
		return c.url + "/", true
	}
	if strings.ContainsAny(raw, "\\\r\n\t") || strings.HasPrefix(raw, "//") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	if u.Scheme == "" && u.Host == "" {
		base, _ := url.Parse(c.url + "/")
		return base.ResolveReference(u).String(), true
	}
	o, err := canonicalWebOrigin((&url.URL{Scheme: u.Scheme, Host: u.Host}).String())
	if err != nil || u.User != nil {
		return "", false
	}
	if o == c.url || (c.origins[o] && integrationID != "" && integrationID == c.opts.WebIntegrationID) {
		return u.String(), true
	}
	return "", false
}

// redirectToLogin sends an anonymous browser to LoginURL with returnto.
func (c *Cloud) redirectToLogin(w http.ResponseWriter, r *http.Request, returnTo string) {
	if c.oidcRedirect(w, r, returnTo) {
		return
	}
	c.mu.Lock()
	login := c.loginURL
	c.mu.Unlock()
	lu, err := url.Parse(login)
	if login == "" || err != nil || !lu.IsAbs() {
		c.logf("%s %s: not logged in and no usable LoginURL (%q)", r.Method, r.URL.Path, login)
		writeCloudError(w, http.StatusUnauthorized, "Unauthorized", "not logged in", "LOGIN-1")
		return
	}
	q := lu.Query()
	q.Set("returnto", returnTo)
	lu.RawQuery = q.Encode()
	c.stats.loginRedirects.Add(1)
	c.logf("%s %s: not logged in, redirecting to %s", r.Method, r.URL.Path, lu.Redacted())
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, lu.String(), http.StatusFound)
}

var cloudHubPage = template.Must(template.New("cloudhub").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Qlik Cloud hub (qliksim)</title></head>
<body>
<h1 id="user">{{.Subject}}</h1>
<p id="name">{{.Name}}</p>
<p id="email">{{.Email}}</p>
<ul id="groups">
{{- range .Groups}}
<li>{{.}}</li>
{{- end}}
</ul>
<p id="path">{{.Path}}</p>
<form method="post" action="/logout"><button id="logout">Log out</button></form>
</body></html>
`))

// serveHubPage renders the stand-in for the hub: who is signed in, with
// which groups, on which path, so tests can assert all of it.
func (c *Cloud) serveHubPage(w http.ResponseWriter, r *http.Request, u CloudUser) {
	c.stats.hubPages.Add(1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		CloudUser
		Path string
	}{u, r.URL.Path}
	if err := cloudHubPage.Execute(w, data); err != nil {
		c.logf("hub: render page: %v", err)
	}
}
