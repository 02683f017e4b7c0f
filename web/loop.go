package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// loopWindow and loopLimit define a redirect loop: more than loopLimit
// automatic hand-offs within loopWindow.
const (
	loopWindow = 10 * time.Second
	loopLimit  = 6
	loopCookie = "qlikgate_loop"
)

// loopCount is how many automatic hand-offs a browser made since start.
//
// It travels in a small cookie of its own rather than in the session: a
// single sign-on hand-off then leaves the session as the browser sent it,
// so qlikgate need not encode, encrypt and sign it again and send a 1 KB
// Set-Cookie (or write it to Redis) on the request it serves most. The
// count is signed and bound to the session's SID, so a cookie planted from
// a sibling domain cannot make a user's single sign-on fail.
type loopCount struct {
	start int64 // Unix ms of the window's first hand-off
	n     int
}

// next counts one more hand-off at now, starting a new window when the
// current one is over.
func (lc loopCount) next(now time.Time) loopCount {
	ms := now.UnixMilli()
	if lc.n == 0 || ms-lc.start >= loopWindow.Milliseconds() || ms < lc.start {
		return loopCount{start: ms, n: 1}
	}
	return loopCount{start: lc.start, n: lc.n + 1}
}

func (lc loopCount) looping() bool { return lc.n > loopLimit }

// loopMAC signs a count for the session sid.
func (s *sessionStore) loopMAC(sid string, lc loopCount) string {
	m := hmac.New(sha256.New, s.loopKey)
	m.Write([]byte(sid + "|" + strconv.FormatInt(lc.start, 10) + "|" + strconv.Itoa(lc.n)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// readLoop returns the browser's count for the session sid; a missing,
// malformed, foreign or forged cookie counts as none.
func (s *sessionStore) readLoop(r *http.Request, sid string) loopCount {
	c, err := r.Cookie(loopCookie)
	if err != nil {
		return loopCount{}
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return loopCount{}
	}
	start, err1 := strconv.ParseInt(parts[0], 10, 64)
	n, err2 := strconv.Atoi(parts[1])
	lc := loopCount{start: start, n: n}
	if err1 != nil || err2 != nil || n < 1 || !hmac.Equal([]byte(parts[2]), []byte(s.loopMAC(sid, lc))) {
		return loopCount{}
	}
	return lc
}

// writeLoop sets the count cookie; it outlives the window by nothing, so a
// browser that stops bouncing forgets it on its own.
func (s *sessionStore) writeLoop(w http.ResponseWriter, sid string, lc loopCount) {
	value := strconv.FormatInt(lc.start, 10) + "." + strconv.Itoa(lc.n) + "." + s.loopMAC(sid, lc)
	http.SetCookie(w, s.loopCookie(value, int(loopWindow/time.Second)))
}

// clearLoop removes the count cookie.
func (s *sessionStore) clearLoop(w http.ResponseWriter) {
	http.SetCookie(w, s.loopCookie("", -1))
}

// loopCookie is the count cookie, with the session cookie's scope and flags.
func (s *sessionStore) loopCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: loopCookie, Value: value, Path: s.options.Path, MaxAge: maxAge,
		Secure: s.options.Secure, HttpOnly: true, SameSite: s.options.SameSite}
}
