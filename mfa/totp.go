package mfa

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Period is the TOTP time step. Authenticator apps assume 30 s, SHA-1 and
// six digits; anything else is silently mis-read by some of them.
const Period = 30

// MaxCodeLen bounds what a code field may hold before it is even parsed.
const MaxCodeLen = 64

// NewTOTPKey makes a new random secret for account at issuer.
func NewTOTPKey(issuer, account string) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: Period})
	if err != nil {
		return nil, fmt.Errorf("mfa: generate TOTP secret: %w", err)
	}
	return k, nil
}

// QRCode renders the otpauth URL as a PNG, drawn by qlikgate itself: the
// secret must not go to a chart service, and the page must not need a
// script to draw it.
func QRCode(issuer, account, secret string) ([]byte, error) {
	k, err := otp.NewKeyFromURL((&otpURL{issuer, account, secret}).String())
	if err != nil {
		return nil, fmt.Errorf("mfa: otpauth URL: %w", err)
	}
	img, err := k.Image(240, 240)
	if err != nil {
		return nil, fmt.Errorf("mfa: render QR code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("mfa: encode QR code: %w", err)
	}
	return b.Bytes(), nil
}

// ParseCode normalises what a user typed as a TOTP code: digits only,
// spaces and dashes (as apps group them) removed. ok is false for
// anything that is not six digits.
func ParseCode(s string) (code string, ok bool) {
	if len(s) > MaxCodeLen {
		return "", false
	}
	s = withoutSeparators(strings.TrimSpace(s))
	if len(s) != 6 {
		return "", false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return s, true
}

// MatchTOTP checks code against secret at now, accepting the previous,
// current and next step (clocks drift; a user types slowly), and returns
// the step it matched. The caller must record that step atomically
// (Store.AcceptTOTPStep): pquerna/otp has no replay protection.
func MatchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	opts := totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	cur := now.Unix() / Period
	for _, d := range []int64{0, -1, 1} {
		at := time.Unix((cur+d)*Period, 0)
		want, err := totp.GenerateCodeCustom(secret, at, opts)
		if err != nil {
			return 0, false
		}
		if constantEqual(want, code) {
			return cur + d, true
		}
	}
	return 0, false
}

// withoutSeparators drops the spaces and dashes that apps and printed
// codes group characters with.
func withoutSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}
