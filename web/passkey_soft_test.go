package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// softKey is a software authenticator for HTTP-level tests: one ES256
// passkey with attestation "none", written from the WebAuthn
// specification (the browser tests use Chromium's virtual authenticator
// instead). It signs whatever origin and challenge it is told, so tests
// can send what a phishing page or a replay would.
type softKey struct {
	id     []byte
	key    *ecdsa.PrivateKey
	handle []byte // the user handle the relying party gave at registration
	count  uint32
	// counterless keys always send 0, as synced passkeys do.
	counterless bool
}

var b64u = base64.RawURLEncoding

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{id: id, key: k}
}

// ceremonyOptions is the part of go-webauthn's options the key reads.
type ceremonyOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func parseOptions(t *testing.T, body string) ceremonyOptions {
	t.Helper()
	var o ceremonyOptions
	if err := json.Unmarshal([]byte(body), &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("not ceremony options: %v\n%s", err, body)
	}
	return o
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func (k *softKey) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	if !k.counterless {
		k.count++
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	return append(out, attested...)
}

// create answers registration options as navigator.credentials.create
// would on origin.
func (k *softKey) create(t *testing.T, options, origin string) string {
	t.Helper()
	o := parseOptions(t, options)
	h, err := b64u.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	k.handle = h
	pub := k.key.PublicKey
	x, y := make([]byte, 32), make([]byte, 32)
	raw, _ := pub.Bytes() // 0x04 || X || Y
	copy(x, raw[1:33])
	copy(y, raw[33:65])
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(append(attested, k.id...), cose...)
	const up, uv, at = 0x01, 0x04, 0x40
	ad := k.authData(o.PublicKey.RP.ID, up|uv|at, attested)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(k.id), "rawId": b64u.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64u.EncodeToString(clientData("webauthn.create", o.PublicKey.Challenge, origin)),
			"attestationObject": b64u.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return string(b)
}

// get answers sign-in options as navigator.credentials.get would on
// origin, for relying party rpID.
func (k *softKey) get(t *testing.T, options, origin, rpID string) string {
	t.Helper()
	o := parseOptions(t, options)
	cd := clientData("webauthn.get", o.PublicKey.Challenge, origin)
	const up, uv = 0x01, 0x04
	ad := k.authData(rpID, up|uv, nil)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(k.id), "rawId": b64u.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64u.EncodeToString(cd),
			"authenticatorData": b64u.EncodeToString(ad),
			"signature":         b64u.EncodeToString(sig),
			"userHandle":        b64u.EncodeToString(k.handle),
		},
		"clientExtensionResults": map[string]any{},
	})
	return string(b)
}
