package cloudoidc

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/go-jose/go-jose/v4"
)

// minRSABits is the smallest key accepted: Qlik and every current
// guideline refuse less than 2048 bits.
const minRSABits = 2048

// signingKey is one RSA key of signing_key_files. Its kid is the RFC 7638
// thumbprint of the public key, so the same file always publishes the same
// kid on every instance and across restarts, and a rotation needs no key
// id in the configuration.
type signingKey struct {
	id   string
	alg  jose.SignatureAlgorithm
	priv *rsa.PrivateKey
	file string
}

// op.SigningKey and op.Key.
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Algorithm() jose.SignatureAlgorithm          { return k.alg }
func (k *signingKey) ID() string                                  { return k.id }
func (k *signingKey) Use() string                                 { return "sig" }

// Key is the private key when signing (op.SigningKey) and the public key
// when publishing (op.Key): keySet wraps the published ones.
func (k *signingKey) Key() any { return k.priv }

// publicKey is a signingKey as op.Key: the JWKS must carry the public part only.
type publicKey struct{ *signingKey }

func (k publicKey) Key() any { return &k.priv.PublicKey }

// loadKeys reads every file; the first signs.
func loadKeys(files []string, alg jose.SignatureAlgorithm) ([]*signingKey, error) {
	var keys []*signingKey
	seen := map[string]string{}
	for i, f := range files {
		k, err := loadKey(f, alg)
		if err != nil {
			return nil, fmt.Errorf("signing_key_files[%d]: %w", i, err)
		}
		if other, dup := seen[k.id]; dup {
			return nil, fmt.Errorf("signing_key_files[%d]: %s holds the same key as %s", i, f, other)
		}
		seen[k.id] = f
		keys = append(keys, k)
	}
	return keys, nil
}

func loadKey(path string, alg jose.SignatureAlgorithm) (*signingKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	priv, err := parseRSAKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%s: thumbprint: %w", path, err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(tp), alg: alg, priv: priv, file: path}, nil
}

// parseRSAKey accepts PKCS#1 and PKCS#8 RSA keys of at least 2048 bits.
func parseRSAKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block (want an RSA PRIVATE KEY or PRIVATE KEY)")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		// Qlik Cloud's OIDC identity providers verify RS256 or RS512 only.
		return nil, fmt.Errorf("the key is %T; Qlik Cloud verifies RSA signatures only (create one with `qlikgate keygen`)", key)
	}
	if rk.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits; at least %d", rk.N.BitLen(), minRSABits)
	}
	rk.Precompute()
	return rk, nil
}
