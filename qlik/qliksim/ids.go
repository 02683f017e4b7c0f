package qliksim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// alphanumerics is the alphabet of tickets: the real QPS hands out 16
// characters from this set (contract §1.3).
const alphanumerics = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// newUUID returns a random (version 4) UUID in its canonical lower-case form.
// It is used for targetIds and proxy session ids, which the real proxy also
// renders as GUIDs.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate uuid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// newTicket returns 16 characters drawn uniformly from alphanumerics.
// Rejection sampling avoids the modulo bias of b%62.
func newTicket() (string, error) {
	const n = 16
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("generate ticket: %w", err)
		}
		for _, c := range buf {
			// 248 = 4*62: bytes at or above it would favour the first letters.
			if c < 248 && len(out) < n {
				out = append(out, alphanumerics[c%62])
			}
		}
	}
	return string(out), nil
}

// isAlphanumeric reports whether s only holds [0-9a-zA-Z].
func isAlphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(alphanumerics, rune(s[i])) {
			return false
		}
	}
	return true
}

// lowerPercentEncode query-escapes s and lower-cases the hex digits of every
// percent escape. The real proxy sends proxyRestUri as https%3a%2f%2f…
// (contract §1.2); emulating that catches clients that compare or
// re-parse the raw query instead of decoding it.
func lowerPercentEncode(s string) string {
	e := []byte(url.QueryEscape(s))
	for i := 0; i+2 < len(e); i++ {
		if e[i] == '%' {
			e[i+1] = toLowerHex(e[i+1])
			e[i+2] = toLowerHex(e[i+2])
			i += 2
		}
	}
	return string(e)
}

func toLowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + ('a' - 'A')
	}
	return c
}

// redact shortens a secret (ticket, session id) to its first four characters
// for logs, so a log line can be matched to a request without replaying it.
func redact(s string) string {
	if len(s) <= 4 {
		return s + "…"
	}
	return s[:4] + "…"
}
