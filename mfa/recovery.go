package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// RecoveryCodes is how many recovery codes an enrolment gets.
const RecoveryCodes = 10

// recoveryAlphabet has no 0/O, 1/I/L: codes are read off paper.
const recoveryAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewRecoveryCodes makes RecoveryCodes codes of 10 characters each
// (about 50 bits), shown as XXXXX-XXXXX.
func NewRecoveryCodes() []string {
	out := make([]string, RecoveryCodes)
	for i := range out {
		b := make([]byte, 10)
		for j := range b {
			b[j] = recoveryAlphabet[randIntn(len(recoveryAlphabet))]
		}
		out[i] = string(b[:5]) + "-" + string(b[5:])
	}
	return out
}

func randIntn(n int) int {
	// Rejection sampling keeps the distribution uniform.
	max := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < max {
			return int(b[0]) % n
		}
	}
}

// ParseRecoveryCode normalises a typed recovery code (case, spaces and
// dashes do not matter); ok is false for anything that cannot be one.
func ParseRecoveryCode(s string) (code string, ok bool) {
	if len(s) > MaxCodeLen {
		return "", false
	}
	s = withoutSeparators(strings.ToUpper(strings.TrimSpace(s)))
	if len(s) != 10 {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
	}
	return s[:5] + "-" + s[5:], true
}

// HashRecoveryCode is what the store keeps of a recovery code. The codes
// are random with about 50 bits, so a plain SHA-256 (no slow hash) is
// enough and lets the store find and delete a code in one statement.
func HashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte("qlikgate recovery v1\x00" + code))
	return hex.EncodeToString(sum[:])
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
