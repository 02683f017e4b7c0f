package qliksim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// The tenant's session cookies (contract §3.3). Each value cookie has a
// ".sig" companion, the keygrip signature the tenant's web stack uses.
const (
	cloudSessionCookie = "eas.sid"
	cloudCSRFCookie    = "_csrfToken"
	cloudSigSuffix     = ".sig"
)

// serveJWTSession is POST /login/jwt-session: a valid JWT in the
// Authorization header becomes a tenant session (contract §3.3).
func (c *Cloud) serveJWTSession(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use POST", "HTTP-405")
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		c.rejectLogin(w, &jwtRejection{status: http.StatusUnauthorized, detail: "missing Authorization: Bearer <jwt> header"})
		return
	}
	login, rej := c.verifyJWT(strings.TrimSpace(token), c.opts.Now())
	if rej != nil {
		c.rejectLogin(w, rej)
		return
	}
	sid, csrf := cloudRandom(), cloudRandom()
	c.mu.Lock()
	if !c.st.useJTI(login.user.Issuer, login.jti, login.exp, c.opts.Now()) {
		c.mu.Unlock()
		c.rejectLogin(w, &jwtRejection{status: http.StatusUnauthorized, detail: "jti " + redact(login.jti) + " was used before (replay)", replay: true})
		return
	}
	created := c.st.upsertUser(login.user, login.groupsGiven)
	c.st.sessions[sid] = cloudSession{subject: login.user.Subject, csrf: csrf}
	c.mu.Unlock()

	if created {
		c.stats.usersCreated.Add(1)
	}
	c.stats.logins.Add(1)
	for _, ck := range c.signedCookies(cloudSessionCookie, sid, false) {
		http.SetCookie(w, ck)
	}
	for _, ck := range c.signedCookies(cloudCSRFCookie, csrf, false) {
		http.SetCookie(w, ck)
	}
	c.logf("jwt-session: %q logged in (new user: %v, groups %q), session %s", login.user.Subject, created, login.user.Groups, redact(sid))
	// The OpenAPI answer is an empty object (contract §6: unconfirmed).
	writeJSON(w, http.StatusOK, struct{}{})
}

func (c *Cloud) rejectLogin(w http.ResponseWriter, rej *jwtRejection) {
	c.stats.loginsRejected.Add(1)
	if rej.replay {
		c.stats.replays.Add(1)
	}
	c.logf("jwt-session: %d: %s", rej.status, rej.detail)
	title, code := "Unauthorized", "LOGIN-1"
	if rej.status == http.StatusBadRequest {
		title, code = "Bad Request", "INTERNAL-TOKEN-1"
	}
	writeCloudError(w, rej.status, title, rej.detail, code)
}

// signedCookies returns the cookie and its ".sig" companion; expire makes
// both delete the browser's copy. SameSite=None with Secure is what lets a
// web integration's origin use them cross-site.
func (c *Cloud) signedCookies(name, value string, expire bool) []*http.Cookie {
	mk := func(n, v string) *http.Cookie {
		ck := &http.Cookie{Name: n, Value: v, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode}
		if expire {
			ck.Value, ck.MaxAge = "", -1
		}
		return ck
	}
	return []*http.Cookie{mk(name, value), mk(name+cloudSigSuffix, c.cookieSig(name, value))}
}

// cookieSig is keygrip's signature: HMAC-SHA1 of "name=value", base64url
// without padding.
func (c *Cloud) cookieSig(name, value string) string {
	m := hmac.New(sha1.New, c.sigKey)
	m.Write([]byte(name + "=" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookieValue returns a cookie whose signature cookie matches.
func (c *Cloud) cookieValue(r *http.Request, name string) (string, bool) {
	v, err := r.Cookie(name)
	if err != nil || v.Value == "" {
		return "", false
	}
	sig, err := r.Cookie(name + cloudSigSuffix)
	if err != nil || !hmac.Equal([]byte(sig.Value), []byte(c.cookieSig(name, v.Value))) {
		c.logf("%s %s: cookie %s has no valid %s%s", r.Method, r.URL.Path, name, name, cloudSigSuffix)
		return "", false
	}
	return v.Value, true
}

// session returns the browser's tenant session and its id.
func (c *Cloud) session(r *http.Request) (string, cloudSession, bool) {
	sid, ok := c.cookieValue(r, cloudSessionCookie)
	if !ok {
		return "", cloudSession{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.st.sessions[sid]
	return sid, s, ok
}

// serveCSRFToken is GET /api/v1/csrf-token: 204 with the token in
// qlik-csrf-token for a signed-in browser (contract §3.4). A 204 is also
// the proof, for a browser script, that the session cookie was stored.
func (c *Cloud) serveCSRFToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use GET", "HTTP-405")
		return
	}
	_, s, ok := c.session(r)
	if !ok {
		c.logf("csrf-token: 401: no valid session cookie")
		writeCloudError(w, http.StatusUnauthorized, "Unauthorized", "not logged in", "LOGIN-1")
		return
	}
	c.stats.csrfTokensSent.Add(1)
	w.Header().Set("qlik-csrf-token", s.csrf)
	w.WriteHeader(http.StatusNoContent)
}

// serveLogout is GET or POST /logout: the session ends and the cookies are
// deleted. Qlik's logout endpoint is not documented (contract §6); this is
// the shape qlikgate relies on.
func (c *Cloud) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use GET or POST", "HTTP-405")
		return
	}
	var idToken string
	if sid, s, ok := c.session(r); ok {
		c.mu.Lock()
		delete(c.st.sessions, sid)
		c.mu.Unlock()
		c.stats.sessionsEnded.Add(1)
		idToken = s.idToken
		c.logf("logout: session %s of %q ended", redact(sid), s.subject)
	}
	for _, name := range []string{cloudSessionCookie, cloudCSRFCookie} {
		for _, ck := range c.signedCookies(name, "", true) {
			http.SetCookie(w, ck)
		}
	}
	if c.oidcLogout(w, r, idToken) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signed out (qliksim)</title></head>\n<body><h1 id=\"signedout\">You are signed out of Qlik Cloud</h1></body></html>\n"))
}

// writeCloudError writes the tenant's error document:
// {"errors":[{"title","detail","code","status"}],"traceId"} (contract §3.2).
func writeCloudError(w http.ResponseWriter, status int, title, detail, code string) {
	type item struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Code   string `json:"code"`
		Status string `json:"status"`
	}
	writeJSON(w, status, struct {
		Errors  []item `json:"errors"`
		TraceID string `json:"traceId"`
	}{[]item{{title, detail, code, strconv.Itoa(status)}}, cloudRandom()[:16]})
}

// cloudRandom returns 128 random bits in hex, for session ids, CSRF tokens
// and trace ids. crypto/rand never fails on supported platforms.
func cloudRandom() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
