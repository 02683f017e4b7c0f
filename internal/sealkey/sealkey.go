// Package sealkey turns a configured secret into an AES-256-GCM cipher.
// The session cookie and the second factor's secrets at rest both derive
// their key this way, each under its own info string, so no key serves
// two purposes.
package sealkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// AEAD derives a 256-bit key from secret with HKDF-SHA256 under info and
// returns AES-GCM with it.
func AEAD(secret, info string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("GCM: %w", err)
	}
	return aead, nil
}
