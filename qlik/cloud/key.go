package cloud

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/go-jose/go-jose/v4"
)

// Signing algorithms. The algorithm follows from the key, so a
// configuration can never pair an RSA key with ES256.
const (
	RS256 = string(jose.RS256) // RSA, what Qlik's JWT tutorial asks for
	ES256 = string(jose.ES256) // ECDSA P-256
)

// Key sizes.
const (
	// MinRSABits is the smallest RSA key accepted for signing.
	MinRSABits = 2048
	// GeneratedRSABits is the size GenerateKey uses: 128-bit security,
	// much faster to generate than 4096 while far from the minimum.
	GeneratedRSABits = 3072
)

// signingKey is a loaded private key and the algorithm it signs with.
type signingKey struct {
	key crypto.Signer
	alg jose.SignatureAlgorithm
}

// loadKey reads private_key_file. Errors name the key and the file.
func loadKey(path string) (signingKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return signingKey{}, fmt.Errorf("private_key_file: %w", err)
	}
	k, err := parsePrivateKeyPEM(data)
	if err != nil {
		return signingKey{}, fmt.Errorf("private_key_file: %s: %w", path, err)
	}
	return k, nil
}

// parsePrivateKeyPEM accepts the forms openssl and `qlikgate keygen`
// write: PKCS#1 ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY") and SEC 1
// ("EC PRIVATE KEY", possibly after an "EC PARAMETERS" block).
func parsePrivateKeyPEM(data []byte) (signingKey, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return signingKey{}, errors.New("no PEM private key found (want RSA PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY)")
		}
		if _, encrypted := b.Headers["Proc-Type"]; encrypted || b.Type == "ENCRYPTED PRIVATE KEY" {
			return signingKey{}, errors.New("the key is encrypted: qlikgate needs it unencrypted (protect the file with permissions instead), e.g. openssl pkey -in key.pem -out key-plain.pem")
		}
		var (
			key any
			err error
		)
		switch b.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
			return signingKey{}, fmt.Errorf("found a %s, not a private key: the tenant gets the public key, qlikgate the private one", b.Type)
		default:
			continue // e.g. EC PARAMETERS before the key
		}
		if err != nil {
			return signingKey{}, fmt.Errorf("parse %s: %w", b.Type, err)
		}
		return signingKeyFor(key)
	}
}

// signingKeyFor checks that a key is one Qlik Cloud can verify and picks
// its algorithm.
func signingKeyFor(key any) (signingKey, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return signingKey{}, fmt.Errorf("RSA key of %d bits is too short: use at least %d", bits, MinRSABits)
		}
		return signingKey{key: k, alg: jose.RS256}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return signingKey{}, fmt.Errorf("EC key on curve %s: only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		return signingKey{key: k, alg: jose.ES256}, nil
	case ed25519.PrivateKey:
		return signingKey{}, errors.New("keys of type Ed25519 are not supported: use RSA (RS256) or EC P-256 (ES256)")
	default:
		return signingKey{}, fmt.Errorf("unsupported key type %T: use RSA (RS256) or EC P-256 (ES256)", key)
	}
}

// GenerateKey creates a signing key for alg (RS256 or ES256) and returns
// the private key as PKCS#8 PEM, for private_key_file, and the public key
// as PKIX PEM ("PUBLIC KEY"), which is what the tenant's JWT identity
// provider takes.
func GenerateKey(alg string) (privateKeyPEM, publicKeyPEM []byte, err error) {
	var key crypto.Signer
	switch alg {
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, GeneratedRSABits)
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, nil, fmt.Errorf("cloud: generate key: algorithm %q is not supported (RS256 or ES256)", alg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cloud: generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("cloud: encode private key: %w", err)
	}
	pub, err := publicPEM(key.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pub, nil
}

// PublicKeyPEM returns the public half of a PEM private key as PKIX PEM,
// e.g. to print what to paste into the tenant for an existing key file.
func PublicKeyPEM(privatePEM []byte) ([]byte, error) {
	k, err := parsePrivateKeyPEM(privatePEM)
	if err != nil {
		return nil, fmt.Errorf("cloud: %w", err)
	}
	return publicPEM(k.key.Public())
}

func publicPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("cloud: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
