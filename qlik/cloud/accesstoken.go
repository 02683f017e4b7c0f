package cloud

import (
	"context"
	"errors"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// The JWT target issues qlik-embed access tokens when its impersonation
// client is configured.
var _ qlik.AccessTokenIssuer = (*JWTTarget)(nil)

// IssuesAccessTokens reports whether oauth_client_id is set.
func (t *JWTTarget) IssuesAccessTokens() bool { return t.tokens != nil }

// IssueAccessToken returns an impersonation token for u, for the subject
// the JWT login gives the user (subject_format).
func (t *JWTTarget) IssueAccessToken(ctx context.Context, u qlik.User) (qlik.AccessToken, error) {
	if t.tokens == nil {
		return qlik.AccessToken{}, errors.New("cloud: no oauth_client_id: the target issues no access tokens")
	}
	return t.tokens.Token(ctx, t.subject(u), u)
}

// SetTokenClock replaces the clock that judges cached access tokens'
// expiry (tests that move time).
func (t *JWTTarget) SetTokenClock(now func() time.Time) {
	if t.tokens != nil {
		t.tokens.SetClock(now)
	}
}
