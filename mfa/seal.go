package mfa

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/qlikgate/qlikgate/internal/sealkey"
)

// Sealer encrypts TOTP secrets at rest with AES-256-GCM under keys derived
// from configured secrets: the current one seals, previous ones still
// open, so the secret can be rotated as session.secret is. The user key is
// the additional data, so a sealed secret copied to another user's row
// does not open.
type Sealer struct {
	keys []cipher.AEAD
}

// sealPrefix versions the sealed form.
const sealPrefix = "v1:"

// NewSealer derives the keys; secret must be at least 32 bytes.
func NewSealer(secret string, previous []string) (*Sealer, error) {
	s := &Sealer{}
	for i, sec := range append([]string{secret}, previous...) {
		if len(sec) < 32 {
			if i == 0 {
				return nil, fmt.Errorf("secret: %d bytes is too short: use at least 32", len(sec))
			}
			return nil, fmt.Errorf("previous_secrets[%d]: %d bytes is too short: use at least 32", i-1, len(sec))
		}
		aead, err := sealkey.AEAD(sec, "qlikgate mfa secret encryption v1")
		if err != nil {
			return nil, fmt.Errorf("mfa: %w", err)
		}
		s.keys = append(s.keys, aead)
	}
	return s, nil
}

// Seal encrypts plain for the user key.
func (s *Sealer) Seal(user, plain string) (string, error) {
	a := s.keys[0]
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("mfa: nonce: %w", err)
	}
	out := a.Seal(nonce, nonce, []byte(plain), []byte(user))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// ErrUnsealable is returned when no configured key opens a sealed secret:
// the secret it was sealed with is no longer configured.
var ErrUnsealable = errors.New("mfa: the TOTP secret cannot be decrypted with mfa.secret or mfa.previous_secrets")

// Open decrypts what Seal made for user, trying each key.
func (s *Sealer) Open(user, sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", ErrUnsealable
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return "", ErrUnsealable
	}
	for _, a := range s.keys {
		if len(b) < a.NonceSize() {
			break
		}
		if p, err := a.Open(nil, b[:a.NonceSize()], b[a.NonceSize():], []byte(user)); err == nil {
			return string(p), nil
		}
	}
	return "", ErrUnsealable
}
