package cloud

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/qlikgate/qlikgate/qlik"
)

// Audience is the only audience Qlik Cloud's JWT login accepts.
const Audience = "qlik.api/login/jwt-session"

// maxBackdate is how far nbf is set before now, for tenants whose clock
// runs a little ahead of ours. It counts against token_lifetime, so that
// exp − nbf never exceeds the hour Qlik allows.
const maxBackdate = 30 * time.Second

// Claims is the JWT payload qlikgate sends (contract §3.2). Qlik Cloud
// reads these and ignores any other claim.
type Claims struct {
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	Subject  string `json:"sub"`
	SubType  string `json:"subType"` // always "user"
	Name     string `json:"name"`
	Email    string `json:"email"`
	// EmailVerified is always true: Qlik refuses the token otherwise, and
	// the address comes from the organisation's directory or IdP, which
	// qlikgate vouches for (see the package documentation).
	EmailVerified bool `json:"email_verified"`
	// Groups is always present, empty when the user has none, so that a
	// user removed from every group loses them in Qlik too.
	Groups    []string `json:"groups"`
	ID        string   `json:"jti"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expiry    int64    `json:"exp"`
}

// claimsFor builds the claims for u at now. The window is computed in
// whole seconds so that exp − nbf equals the configured lifetime exactly.
func (t *JWTTarget) claimsFor(u qlik.User, now time.Time) (Claims, error) {
	if strings.TrimSpace(u.UserID) == "" {
		return Claims{}, errors.New("the user has no user id")
	}
	if strings.TrimSpace(u.Email) == "" {
		return Claims{}, fmt.Errorf("user %q has no email address, which Qlik Cloud requires (claim email): map an email attribute or claim in the provider", u.UserID)
	}
	name := u.Name
	if strings.TrimSpace(name) == "" {
		name = u.UserID // Qlik requires a name; the id is better than a failed login
	}
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	life := t.cfg.TokenLifetime.Truncate(time.Second)
	backdate := min(maxBackdate, life/4).Truncate(time.Second)
	nbf := now.Unix() - int64(backdate/time.Second)
	return Claims{
		Issuer:        t.cfg.Issuer,
		Audience:      Audience,
		Subject:       t.subject(u),
		SubType:       "user",
		Name:          name,
		Email:         u.Email,
		EmailVerified: true,
		Groups:        groups,
		ID:            rand.Text(), // 26 base32 characters, 130 random bits
		IssuedAt:      now.Unix(),
		NotBefore:     nbf,
		Expiry:        nbf + int64(life/time.Second),
	}, nil
}

// subject applies subject_format.
func (t *JWTTarget) subject(u qlik.User) string {
	return strings.NewReplacer(placeholderUser, u.UserID, placeholderDirectory, u.Directory).Replace(t.cfg.SubjectFormat)
}

// sign serialises the claims as a compact JWS with alg, kid and typ in
// the header.
func (t *JWTTarget) sign(c Claims) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: t.key.alg, Key: jose.JSONWebKey{Key: t.key.key, KeyID: t.cfg.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("build %s signer: %w", t.key.alg, err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return tok, nil
}
