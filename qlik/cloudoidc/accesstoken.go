package cloudoidc

import (
	"context"
	"errors"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// A cloud-oidc target issues qlik-embed access tokens when its
// impersonation client is configured, as the cloud kind does.
var _ qlik.AccessTokenIssuer = (*Target)(nil)

// IssuesAccessTokens reports whether oauth_client_id is set.
func (t *Target) IssuesAccessTokens() bool { return t.tokens != nil }

// IssueAccessToken returns an impersonation token for u, for the subject
// the ID tokens give the user (subject_format), which is how the tenant
// knows users who signed in through this provider.
func (t *Target) IssueAccessToken(ctx context.Context, u qlik.User) (qlik.AccessToken, error) {
	if t.tokens == nil {
		return qlik.AccessToken{}, errors.New("cloud-oidc: no oauth_client_id: the target issues no access tokens")
	}
	return t.tokens.Token(ctx, t.subject(u), u)
}

// SetTokenClock replaces the clock that judges cached access tokens'
// expiry (tests that move time).
func (t *Target) SetTokenClock(now func() time.Time) {
	if t.tokens != nil {
		t.tokens.SetClock(now)
	}
}
