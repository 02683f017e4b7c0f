package cloudoidc

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// grant is one answered authorization request: what the code (and later
// the access token) stands for. It is op.AuthRequest and op.TokenRequest
// for the library, and carries the user's claims, so the token endpoint
// and userinfo need no user directory.
type grant struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	RedirectURI  string    `json:"redirect_uri"`
	State        string    `json:"state,omitempty"`
	Nonce        string    `json:"nonce,omitempty"`
	Scopes       []string  `json:"scopes"`
	Challenge    string    `json:"code_challenge,omitempty"`
	Method       string    `json:"code_challenge_method,omitempty"`
	ResponseMode string    `json:"response_mode,omitempty"`
	Subject      string    `json:"sub"`
	AuthTime     time.Time `json:"auth_time"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Groups       []string  `json:"groups"`
}

func (g *grant) GetID() string                      { return g.ID }
func (g *grant) GetACR() string                     { return "" }
func (g *grant) GetAMR() []string                   { return nil }
func (g *grant) GetAudience() []string              { return []string{g.ClientID} }
func (g *grant) GetAuthTime() time.Time             { return g.AuthTime }
func (g *grant) GetClientID() string                { return g.ClientID }
func (g *grant) GetNonce() string                   { return g.Nonce }
func (g *grant) GetRedirectURI() string             { return g.RedirectURI }
func (g *grant) GetScopes() []string                { return g.Scopes }
func (g *grant) GetState() string                   { return g.State }
func (g *grant) GetSubject() string                 { return g.Subject }
func (g *grant) Done() bool                         { return true }
func (g *grant) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (g *grant) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(g.ResponseMode)
}

func (g *grant) GetCodeChallenge() *oidc.CodeChallenge {
	if g.Challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: g.Challenge, Method: oidc.CodeChallengeMethod(g.Method)}
}

// fill writes the user's claims. They are sent whatever the scopes: Qlik's
// generic identity provider maps sub, name, email, email_verified and
// groups and its default scopes are not documented (contract §8.1).
// email_verified is the boolean true, without which Qlik drops the email.
func (g *grant) fill(ui *oidc.UserInfo) {
	ui.Subject = g.Subject
	ui.Name = g.Name
	ui.Email = g.Email
	ui.EmailVerified = oidc.Bool(true)
	groups := g.Groups
	if groups == nil {
		groups = []string{}
	}
	ui.AppendClaims("groups", groups)
}
