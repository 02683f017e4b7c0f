package oidctest

import (
	"crypto/subtle"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// Client is an application registered at the test OP.
type Client struct {
	ID string
	// Secret authenticates the client at the token endpoint (basic or
	// post). Empty registers a public client, which must use PKCE.
	Secret       string
	RedirectURIs []string
	// ClaimsInIDToken puts the profile and e-mail claims in the ID token
	// too (zitadel's IDTokenUserinfoClaimsAssertion), as Entra ID, Okta,
	// Keycloak and Google do. By default they come from userinfo only.
	ClaimsInIDToken bool
	// IDTokenLifetime defaults to one hour. A negative lifetime issues ID
	// tokens that are already expired.
	IDTokenLifetime time.Duration
	// IssueTokensTo, when set, makes the OP issue this client's ID tokens
	// to that other client id (aud and azp), as if the code had been meant
	// for another application: a relying party must refuse them.
	IssueTokensTo string
}

// client adapts a Client to zitadel's op.Client, starting from the
// example's web client so everything else behaves like the example.
type client struct {
	*storage.Client
	cfg Client
}

func newClient(c Client) *client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	// WebClient is in "dev mode", which accepts the http://127.0.0.1 redirect
	// URIs of tests.
	return &client{Client: storage.WebClient(c.ID, c.Secret, c.RedirectURIs...), cfg: c}
}

// GetID is the client id the token endpoint compares with the code's; see
// IssueTokensTo.
func (c *client) GetID() string {
	if c.cfg.IssueTokensTo != "" {
		return c.cfg.IssueTokensTo
	}
	return c.cfg.ID
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.cfg.Secret == "" {
		return oidc.AuthMethodNone
	}
	return c.Client.AuthMethod()
}

func (c *client) IDTokenLifetime() time.Duration {
	if c.cfg.IDTokenLifetime != 0 {
		return c.cfg.IDTokenLifetime
	}
	return c.Client.IDTokenLifetime()
}

func (c *client) IDTokenUserinfoClaimsAssertion() bool { return c.cfg.ClaimsInIDToken }

func (c *client) secretMatches(secret string) bool {
	return c.cfg.Secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(c.cfg.Secret)) == 1
}
