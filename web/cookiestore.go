package web

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/qlikgate/qlikgate/internal/sealkey"
)

// sealedCookies keeps the session state in the cookie itself, sealed with
// AES-256-GCM: encrypted and authenticated in one pass, base64 once.
//
// It replaces gorilla's CookieStore on the path every request takes.
// securecookie encrypts with AES-CTR, base64-encodes, signs the result with
// HMAC-SHA256 over the name, a timestamp and that text, and base64-encodes
// it all again: two passes over the value, a second base64 layer that makes
// the cookie a third longer, and a dozen allocations per decode. GCM gives
// the same guarantees (confidentiality, integrity, bound to the cookie
// name) with one primitive.
//
// Cookies that gorilla sealed before this store existed stay readable
// (legacy), so an upgrade signs nobody out; the next change of the session
// rewrites them in this format. Nothing writes the old format any more.
type sealedCookies struct {
	// aeads are the GCM instances of the current secret (first, the one
	// that seals) and of session.previous_secrets (opening only).
	aeads []cipher.AEAD
	// legacy open cookies that gorilla's securecookie sealed, with the
	// keys it had: the same HKDF keys as before.
	legacy  []securecookie.Codec
	options sessions.Options
}

const (
	// sealedPrefix starts every sealed value: a version, and a dot, which
	// base64url (securecookie's alphabet) never contains, so the two
	// formats cannot be confused.
	sealedPrefix = "2."
	// sealedHeader is the plaintext's issue time (Unix seconds, big
	// endian) before the state: the cookie's own expiry, as securecookie's
	// timestamp was, also for a browser that never signed in. Like
	// securecookie's, it reads the system clock, not the session store's:
	// the cookie is written at or after its sign-in, so the sign-in's
	// lifetime (sessionStore.load, which ends what targets kept for it)
	// always runs out first.
	sealedHeader = 8
	// maxSealedValue bounds the work spent on a cookie value, as
	// securecookie's 4096 did: a browser keeps no larger cookie anyway.
	maxSealedValue = 4096
)

var (
	errCookieTooLong = errors.New("session cookie: the value is too long")
	errCookieInvalid = errors.New("session cookie: not sealed with any current or previous secret")
	errCookieExpired = errors.New("session cookie: expired")
)

// newSealedCookies derives one AES-256 key per secret with HKDF (its own
// info string: no key serves two algorithms) and keeps gorilla's codecs,
// built from keyPairs, to read the cookies they wrote.
func newSealedCookies(secrets []string, keyPairs [][]byte, options sessions.Options) (*sealedCookies, error) {
	s := &sealedCookies{options: options}
	for _, secret := range secrets {
		aead, err := sealkey.AEAD(secret, "qlikgate session cookie v2 aes-256-gcm")
		if err != nil {
			return nil, fmt.Errorf("session: cookie key: %w", err)
		}
		s.aeads = append(s.aeads, aead)
	}
	for _, c := range securecookie.CodecsFromPairs(keyPairs...) {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(options.MaxAge)
		sc.SetSerializer(stateSerializer{})
		s.legacy = append(s.legacy, sc)
	}
	return s, nil
}

// Get returns the session from the request's registry.
func (s *sealedCookies) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New opens the request's cookie. No cookie gives a new, empty session; a
// cookie that does not open (forged, another secret, expired) gives one
// too, with the error, as gorilla's CookieStore does.
func (s *sealedCookies) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	// Into the Options NewSession made: each session still has its own
	// copy, without a second allocation for it.
	*sess.Options, sess.IsNew = s.options, true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	raw, err := s.open(name, c.Value)
	if err != nil {
		return sess, err
	}
	sess.Values[stateKey], sess.IsNew = raw, false
	return sess, nil
}

// Save seals the session's state into the cookie, or expires the cookie
// when MaxAge < 0.
func (s *sealedCookies) Save(_ *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	value := ""
	if sess.Options.MaxAge >= 0 {
		raw, _ := sess.Values[stateKey].([]byte)
		v, err := s.seal(sess.Name(), raw)
		if err != nil {
			return err
		}
		value = v
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), value, sess.Options))
	return nil
}

// seal returns the cookie value for the state raw: the prefix, then
// base64url(nonce ‖ GCM(issued ‖ raw)), with the cookie's name as
// additional data, so a value cannot be moved to another cookie.
func (s *sealedCookies) seal(name string, raw []byte) (string, error) {
	return s.sealAt(name, raw, time.Now())
}

// sealAt seals raw as issued at issued.
func (s *sealedCookies) sealAt(name string, raw []byte, issued time.Time) (string, error) {
	aead := s.aeads[0]
	ns := aead.NonceSize()
	buf := make([]byte, ns+sealedHeader, ns+sealedHeader+len(raw)+aead.Overhead())
	// A random 96-bit nonce per cookie: far below the 2^32 seals per key
	// after which random nonces would risk a repeat.
	_, _ = rand.Read(buf[:ns])
	binary.BigEndian.PutUint64(buf[ns:], uint64(issued.Unix()))
	plain := append(buf[ns:], raw...)
	sealed := aead.Seal(buf[ns:ns], buf[:ns], plain, []byte(name))
	n := ns + len(sealed)
	out := make([]byte, len(sealedPrefix)+base64.RawURLEncoding.EncodedLen(n))
	copy(out, sealedPrefix)
	base64.RawURLEncoding.Encode(out[len(sealedPrefix):], buf[:n])
	if len(out) > maxSealedValue {
		return "", errCookieTooLong
	}
	return string(out), nil
}

// open returns the state a cookie value carries, checking it was sealed
// for this cookie name with one of the secrets and has not expired.
func (s *sealedCookies) open(name, value string) ([]byte, error) {
	if len(value) > maxSealedValue {
		return nil, errCookieTooLong
	}
	b64, ok := strings.CutPrefix(value, sealedPrefix)
	if !ok {
		return s.openLegacy(name, value)
	}
	buf := make([]byte, base64.RawURLEncoding.DecodedLen(len(b64)))
	n, err := base64.RawURLEncoding.Decode(buf, []byte(b64))
	if err != nil {
		return nil, errCookieInvalid
	}
	buf = buf[:n]
	for i, aead := range s.aeads {
		ns := aead.NonceSize()
		if len(buf) < ns+sealedHeader+aead.Overhead() {
			return nil, errCookieInvalid
		}
		// Open into a copy while another key may follow: a failed Open
		// clears its output, and the next key needs the ciphertext
		// intact. The last key (the only one, unless secrets are being
		// rotated) opens in place.
		var dst []byte
		if i == len(s.aeads)-1 {
			dst = buf[ns:ns]
		}
		plain, err := aead.Open(dst, buf[:ns], buf[ns:], []byte(name))
		if err != nil {
			continue
		}
		issued := int64(binary.BigEndian.Uint64(plain))
		if maxAge := int64(s.options.MaxAge); maxAge > 0 && time.Now().Unix()-issued > maxAge {
			return nil, errCookieExpired
		}
		return plain[sealedHeader:], nil
	}
	return nil, errCookieInvalid
}

// openLegacy opens a cookie gorilla's securecookie wrote.
func (s *sealedCookies) openLegacy(name, value string) ([]byte, error) {
	values := map[any]any{}
	if err := securecookie.DecodeMulti(name, value, &values, s.legacy...); err != nil {
		return nil, err
	}
	raw, _ := values[stateKey].([]byte)
	return raw, nil
}
