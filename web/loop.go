package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
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

// loopMAC signs a count for the session sid. Every hand-off signs one, so
// the HMAC comes from a pool (its keyed state computed once, not per
// request) and the message is built without allocating.
func (s *sessionStore) loopMAC(sid string, lc loopCount) string {
	var buf [24]byte
	return string(s.appendLoopMAC(buf[:0], sid, lc))
}

// appendLoopMAC appends loopMAC's value to dst.
func (s *sessionStore) appendLoopMAC(dst []byte, sid string, lc loopCount) []byte {
	var buf [96]byte
	msg := append(buf[:0], sid...)
	msg = append(msg, '|')
	msg = strconv.AppendInt(msg, lc.start, 10)
	msg = append(msg, '|')
	msg = strconv.AppendInt(msg, int64(lc.n), 10)
	m, _ := s.loopMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.loopKey)
	}
	m.Reset()
	m.Write(msg)
	var sum [sha256.Size]byte
	mac := m.Sum(sum[:0])
	s.loopMACs.Put(m)
	return base64.RawURLEncoding.AppendEncode(dst, mac[:16])
}

// readLoop returns the browser's count for the session sid; a missing,
// malformed, foreign or forged cookie counts as none.
func (s *sessionStore) readLoop(r *http.Request, sid string) loopCount {
	c, err := r.Cookie(loopCookie)
	if err != nil {
		return loopCount{}
	}
	startS, rest, ok1 := strings.Cut(c.Value, ".")
	nS, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return loopCount{}
	}
	start, err1 := strconv.ParseInt(startS, 10, 64)
	n, err2 := strconv.Atoi(nS)
	lc := loopCount{start: start, n: n}
	var buf [24]byte
	if err1 != nil || err2 != nil || n < 1 || !hmac.Equal([]byte(mac), s.appendLoopMAC(buf[:0], sid, lc)) {
		return loopCount{}
	}
	return lc
}

// writeLoop sets the count cookie; it outlives the window by nothing, so a
// browser that stops bouncing forgets it on its own.
//
// The header is the one http.SetCookie writes for s.loopCookie(value, …),
// built from attributes rendered once (loopAttrs): the value is digits,
// dots and base64url, which a cookie carries unquoted.
func (s *sessionStore) writeLoop(w http.ResponseWriter, sid string, lc loopCount) {
	b := make([]byte, 0, len(loopCookie)+48+len(s.loopAttrs))
	b = append(b, loopCookie...)
	b = append(b, '=')
	b = strconv.AppendInt(b, lc.start, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(lc.n), 10)
	b = append(b, '.')
	b = s.appendLoopMAC(b, sid, lc)
	b = append(b, s.loopAttrs...)
	w.Header().Add("Set-Cookie", string(b))
}

// loopCookieAttrs is what follows the value in writeLoop's Set-Cookie.
func (s *sessionStore) loopCookieAttrs() string {
	return strings.TrimPrefix(s.loopCookie("", int(loopWindow/time.Second)).String(), loopCookie+"=")
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
