package qliksim

import (
	"encoding/xml"
	"html/template"
	"io"
	"net/http"
)

var accessPointPage = template.Must(template.New("accesspoint").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>QlikView AccessPoint (qliksim)</title></head>
<body>
<h1 id="user">{{.UserID}}</h1>
<ul id="groups">
{{- range .Groups}}
<li>{{.}}</li>
{{- end}}
</ul>
<p id="groups-are-names">{{.GroupsAreNames}}</p>
<p id="path">{{.Path}}</p>
</body></html>
`))

// serveAccessPoint is the stand-in for the AccessPoint portal under
// /QlikView/: who is logged in and with which groups, so that tests can
// assert both; anonymous browsers go to the custom login page (the
// module), as with "Authentication: Always" and a custom login address.
func (q *QlikView) serveAccessPoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		plainError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	sess, ok := q.cookieSession(r)
	if !ok {
		q.mu.Lock()
		login := q.loginURL
		q.mu.Unlock()
		if login == "" {
			q.logf("AccessPoint: %s: not logged in and no login page configured", r.URL.Path)
			plainError(w, http.StatusUnauthorized, "not authenticated")
			return
		}
		q.logf("AccessPoint: %s: not logged in, redirecting to the login page", r.URL.Path)
		qvRedirect(w, login)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		QlikViewSession
		Path string
	}{sess, r.URL.Path}
	if err := accessPointPage.Execute(w, data); err != nil {
		q.logf("AccessPoint: render page: %v", err)
	}
}

func (q *QlikView) cookieSession(r *http.Request) (QlikViewSession, bool) {
	c, err := r.Cookie(QlikViewCookieName)
	if err != nil {
		return QlikViewSession{}, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s, ok := q.sessions[c.Value]
	if !ok {
		q.logf("AccessPoint: unknown session cookie %s", redact(c.Value))
	}
	return copyQVSession(s), ok
}

// qvUpdate is the AccessPoint client's request body; only the logout
// (contract §2.4) is simulated.
type qvUpdate struct {
	XMLName xml.Name `xml:"update"`
	Ident   string   `xml:"ident,attr"`
	Kind    string   `xml:"kind,attr"`
	Sets    []struct {
		Name string `xml:"name,attr"`
	} `xml:"set"`
}

func (u qvUpdate) isLogout() bool {
	if u.Ident != "AccessPoint" || u.Kind != "AccessPoint" {
		return false
	}
	for _, s := range u.Sets {
		if s.Name == "AccessPoint.Logout" {
			return true
		}
	}
	return false
}

// serveAccessPointCall is POST /QvAJAXZfc/AccessPoint.aspx with the
// logout update: the browser's session ends and its cookie is cleared.
// Without a session there is nothing to end, and the answer is the same.
func (q *QlikView) serveAccessPointCall(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		plainError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, qvMaxBody))
	var u qvUpdate
	if err == nil {
		err = xml.Unmarshal(body, &u)
	}
	if err != nil || !u.isLogout() {
		q.logf("AccessPoint.aspx: 400: not an AccessPoint.Logout update (%v)", err)
		plainError(w, http.StatusBadRequest, "unsupported AccessPoint request (only AccessPoint.Logout is simulated)")
		return
	}
	if c, err := r.Cookie(QlikViewCookieName); err == nil {
		q.mu.Lock()
		sess, ok := q.sessions[c.Value]
		delete(q.sessions, c.Value)
		q.mu.Unlock()
		if ok {
			q.stats.logouts.Add(1)
			q.logf("AccessPoint.aspx: session %s of %q logged out", redact(c.Value), sess.UserID)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: QlikViewCookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: q.opts.TLS})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "<result />")
}

var logoutPage = template.Must(template.New("logout").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signing out of QlikView</title></head>
<body>
<p>Signing out of QlikView…</p>
<script>
fetch("/QvAJAXZfc/AccessPoint.aspx?mark=&platform=browser.chrome&dpi=96", {
  method: "POST", credentials: "same-origin", headers: {"Content-Type": "text/xml"},
  body: '<update mark="" stamp="" cookie="true" scope="Document" ident="AccessPoint" kind="AccessPoint"><set name="AccessPoint.Logout" action="" clientsizeWH="1280:939" /></update>'
}).finally(function () { location.replace({{.}}); });
</script>
<noscript><a href="{{.}}">Continue</a></noscript>
</body></html>
`))

// serveLogoutPage emulates the small sign-out page the qlikview package's
// README asks administrators to put next to AccessPoint: posted from the
// QlikView origin, the AccessPoint logout carries the session cookie that
// a redirect from the module cannot. ?next= is followed only if it passes
// the SafeForwardList, else the page goes to AccessPoint.
func (q *QlikView) serveLogoutPage(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if next == "" || q.forwardRefusal(next) != "" {
		next = "/QlikView/"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := logoutPage.Execute(w, next); err != nil {
		q.logf("logout page: %v", err)
	}
}
