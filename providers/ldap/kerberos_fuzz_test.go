package ldap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
)

// FuzzParseNegotiate feeds parseNegotiate what a browser (or anyone) may
// put in `Authorization: Negotiate`: it must never panic, an NTLM message
// is always refused as ntlm_token, and anything else either gives an
// AP-REQ or a bad-credentials refusal with one of the token reasons.
func FuzzParseNegotiate(f *testing.F) {
	for _, s := range []string{
		"TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==", // NTLM negotiate
		"oRQwEqADCgEAoQsGCSqGSIb3EgECAg==",                         // an SPNEGO answer
		"YIIBAAYGKwYBBQUCoIH1MIHyoA0wCwYJKoZIhvcSAQICooHgBIHd",     // the start of a NegTokenInit
	} {
		b, _ := base64.StdEncoding.DecodeString(s)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tok []byte) {
		apreq, fail := parseNegotiate(tok)
		if bytes.HasPrefix(tok, []byte("NTLMSSP\x00")) {
			if fail == nil || fail.Reason != providers.ReasonNTLMToken {
				t.Fatalf("an NTLM message gave %v", fail)
			}
			return
		}
		switch {
		case fail == nil && apreq == nil:
			t.Fatal("neither an AP-REQ nor a refusal")
		case fail != nil && apreq != nil:
			t.Fatal("both an AP-REQ and a refusal")
		case fail != nil:
			if !errors.Is(fail, providers.ErrBadCredentials) {
				t.Fatalf("refusal %v is not bad credentials", fail)
			}
			switch fail.Reason {
			case providers.ReasonNTLMToken, providers.ReasonNegotiateMalformed:
			default:
				t.Fatalf("reason %s", fail.Reason)
			}
		}
	})
}
