package web

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/qlikgate/qlikgate/mfa"
)

func TestPasskeyCSP(t *testing.T) {
	for _, fa := range [][]string{nil, {"https://portal.example.org"}} {
		got := passkeyCSP(fa)
		want := strings.Replace(contentSecurityPolicy(fa, "", ""), "default-src 'none'; ", "default-src 'none'; script-src 'self'; connect-src 'self'; ", 1)
		if got != want || !strings.Contains(got, "script-src 'self'; connect-src 'self'; ") || strings.Contains(got, "unsafe") || strings.Contains(got, "form-action") {
			t.Errorf("passkeyCSP(%v) = %q", fa, got)
		}
	}
}

func TestPasskeyName(t *testing.T) {
	for in, want := range map[string]string{
		"  YubiKey 5  ":            "YubiKey 5",
		"":                         "Passkey",
		"\x00\x07":                 "Passkey",
		"work\nlaptop":             "worklaptop",
		strings.Repeat("é", 80):    strings.Repeat("é", mfa.MaxPasskeyName),
		"ok\xffbyte":               "okbyte",
		"Schlüssel für das Büro 🔑": "Schlüssel für das Büro 🔑",
	} {
		if got := passkeyName(in); got != want {
			t.Errorf("passkeyName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzPasskeyName: whatever a user types, the stored name is valid
// UTF-8, has no control character, is 1 to MaxPasskeyName characters, and
// keeps what was typed otherwise (a trimmed prefix of the typed text
// without control characters and invalid bytes, itself trimmed).
func FuzzPasskeyName(f *testing.F) {
	for _, s := range []string{"YubiKey", "", " \t", "a\x00b", strings.Repeat("x", 100), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		got := passkeyName(typed)
		if !utf8.ValidString(got) || got == "" || utf8.RuneCountInString(got) > mfa.MaxPasskeyName {
			t.Fatalf("passkeyName(%q) = %q", typed, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("passkeyName(%q) = %q has a control character", typed, got)
			}
		}
		var kept strings.Builder
		for _, r := range typed {
			if !unicode.IsControl(r) && r != utf8.RuneError {
				kept.WriteRune(r)
			}
		}
		if k := strings.TrimSpace(kept.String()); got != "Passkey" && (!strings.HasPrefix(k, got) || got != strings.TrimSpace(got)) {
			t.Fatalf("passkeyName(%q) = %q, not a prefix of %q", typed, got, kept.String())
		}
	})
}
