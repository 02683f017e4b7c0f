package qlik

import (
	"context"
	"time"
)

// AccessToken is a Qlik Cloud OAuth access token for one signed-in user,
// handed to a qlik-embed mashup page (POST /t/{id}/access-token), which
// calls the tenant with it as a bearer token. It is a credential: it is
// never logged.
type AccessToken struct {
	Value string
	// ExpiresAt is when the tenant stops accepting the token.
	ExpiresAt time.Time
	// Scope is the scope the tenant granted (user_default).
	Scope string
	// Cached is true when the token was handed out before and the tenant
	// was not asked this time (for the audit log).
	Cached bool
}

// AccessTokenIssuer is implemented by Qlik Cloud targets that can give a
// signed-in user an OAuth access token for qlik-embed, obtained from the
// tenant with an impersonation OAuth client. Every Cloud kind (the JWT kind
// `cloud`, the OpenID provider kind `cloud-oidc`) implements it the same
// way, by delegating to a qlik/cloudtoken.Issuer.
type AccessTokenIssuer interface {
	// IssuesAccessTokens reports whether the target is configured for it
	// (its impersonation OAuth client is set); when it is not, the
	// endpoint does not exist for the target.
	IssuesAccessTokens() bool
	// IssueAccessToken returns a token that acts as u in the tenant. The
	// same token may be returned again, to u only, until shortly before it
	// expires.
	IssueAccessToken(ctx context.Context, u User) (AccessToken, error)
}
