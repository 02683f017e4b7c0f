package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// benchAEADCodec is a prototype of a cheaper session cookie, for
// comparison with BenchmarkSessionSave/Load only (it is not used by
// qlikgate): the state's JSON sealed with AES-256-GCM, the cookie name and
// the issue time authenticated as additional data, base64url. gorilla's
// CookieStore instead gob-encodes a map[any]any holding the JSON — and a
// fresh gob decoder must receive and compile the type description in every
// cookie — then encrypts with AES-CTR and signs with HMAC-SHA256.
type benchAEADCodec struct{ aead cipher.AEAD }

func newBenchAEADCodec(b *testing.B, secret string) benchAEADCodec {
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "qlikgate session v2", 32)
	if err != nil {
		b.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	return benchAEADCodec{aead: aead}
}

// layout: 8 bytes issue time (Unix seconds) | 12 bytes nonce | sealed JSON
func (c benchAEADCodec) encode(name string, st *state, now time.Time) (string, error) {
	js, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 20, 20+len(js)+c.aead.Overhead())
	binary.BigEndian.PutUint64(buf, uint64(now.Unix()))
	_, _ = rand.Read(buf[8:20])
	out := c.aead.Seal(buf, buf[8:20], js, append([]byte(name), buf[:8]...))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (c benchAEADCodec) decode(name, value string, maxAge time.Duration, now time.Time) (*state, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < 20+c.aead.Overhead() {
		return nil, errors.New("malformed")
	}
	if now.Sub(time.Unix(int64(binary.BigEndian.Uint64(raw)), 0)) > maxAge {
		return nil, errors.New("expired")
	}
	js, err := c.aead.Open(nil, raw[8:20], raw[20:], append([]byte(name), raw[:8]...))
	if err != nil {
		return nil, err
	}
	st := &state{}
	return st, json.Unmarshal(js, st)
}

// BenchmarkSessionCodecPrototype does what BenchmarkSessionSave and
// BenchmarkSessionLoad do (Set-Cookie written; cookie read from a request
// and decoded) with benchAEADCodec, to size the gain of replacing gorilla's
// cookie store on the hand-off path.
func BenchmarkSessionCodecPrototype(b *testing.B) {
	c := newBenchAEADCodec(b, strings.Repeat("s", 40))
	st := benchSessionState(time.Now())
	b.Run("save", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := c.encode(sessionName, st, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			http.SetCookie(httptest.NewRecorder(), &http.Cookie{Name: sessionName, Value: v, Path: "/", MaxAge: 28800, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
	})
	v, err := c.encode(sessionName, st, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(&http.Cookie{Name: sessionName, Value: v})
			ck, err := r.Cookie(sessionName)
			if err != nil {
				b.Fatal(err)
			}
			got, err := c.decode(sessionName, ck.Value, 8*time.Hour, time.Now())
			if err != nil || got.User == nil {
				b.Fatalf("decode: %v", err)
			}
		}
		b.ReportMetric(float64(len(v)), "cookie-bytes")
	})
}
