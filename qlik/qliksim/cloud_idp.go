package qliksim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// CloudIdP is a JWT identity provider as the tenant's identity-providers
// API stores it (contract §3.1): an issuer and one static key, given as the
// PEM of a public key ("PUBLIC KEY" or "RSA PUBLIC KEY") or of a
// certificate, exactly what an administrator pastes into the tenant.
type CloudIdP struct {
	Issuer string
	KeyID  string
	PEM    []byte
}

// cloudIdP is a configured IdP with its parsed key.
type cloudIdP struct {
	issuer string
	key    crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey (P-256)
}

// AddIdP adds a JWT identity provider. The tenant keeps one key per IdP and
// picks the IdP by the token's kid, so a kid may be used only once.
func (c *Cloud) AddIdP(issuer, kid string, publicKey crypto.PublicKey) error {
	if strings.TrimSpace(issuer) == "" || strings.TrimSpace(kid) == "" {
		return errors.New("qliksim: AddIdP: issuer and kid must not be empty")
	}
	switch k := publicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("qliksim: AddIdP %s: RSA key of %d bits, want at least 2048", issuer, k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("qliksim: AddIdP %s: ECDSA key on %s, only P-256 (ES256) is accepted", issuer, k.Curve.Params().Name)
		}
	default:
		return fmt.Errorf("qliksim: AddIdP %s: unsupported key type %T", issuer, publicKey)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.idps[kid]; dup {
		return fmt.Errorf("qliksim: AddIdP %s: kid %q is already used by another IdP", issuer, kid)
	}
	c.idps[kid] = cloudIdP{issuer: issuer, key: publicKey}
	c.logf("JWT IdP %q added with kid %q", issuer, kid)
	return nil
}

// idp returns the IdP whose key has the given kid.
func (c *Cloud) idp(kid string) (cloudIdP, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.idps[kid]
	return p, ok
}

// parseIdPKeyPEM reads the first PEM block holding a public key or a
// certificate.
func parseIdPKeyPEM(data []byte) (crypto.PublicKey, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE PEM block found")
		}
		switch b.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse public key: %w", err)
			}
			return k, nil
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse RSA public key: %w", err)
			}
			return k, nil
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return cert.PublicKey, nil
		}
	}
}
