package cloudoidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// errUnsupported answers the parts of op.Storage this provider does not
// offer: the library's own authorize and login callback (qlikgate's entry
// answers authorization requests), refresh tokens and JWT profile grants.
var errUnsupported = errors.New("not supported by qlikgate's provider")

// storage is op.Storage over the target's keys, client and store.
type storage struct {
	t *Target
}

var (
	_ op.Storage                        = storage{}
	_ op.CanSetUserinfoFromRequest      = storage{}
	_ op.CanTerminateSessionFromRequest = storage{}
)

func (s storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}

// AuthRequestByCode takes the code: read and deleted at once, so that a
// replay, even a concurrent one, finds nothing.
func (s storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	g, ok, err := s.t.store.takeCode(ctx, code, s.t.now())
	if err != nil {
		return nil, err
	}
	if !ok {
		s.t.refused("token", "code unknown, expired or already used")
		return nil, errors.New("code unknown, expired or already used")
	}
	return g, nil
}

func (s storage) SaveAuthCode(context.Context, string, string) error { return errUnsupported }

// DeleteAuthRequest has nothing to do: AuthRequestByCode took the code.
func (s storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken stores an opaque token's grant; the library hands out
// the token id encrypted with the target's key, so the token says nothing.
func (s storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, ok := req.(*grant)
	if !ok {
		return "", time.Time{}, errUnsupported
	}
	now := s.t.now()
	exp := now.Add(s.t.cfg.TokenLifetime)
	id := rand.Text()
	if err := s.t.store.putToken(ctx, id, g, exp, now); err != nil {
		return "", time.Time{}, err
	}
	return id, exp, nil
}

func (s storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}
func (s storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}
func (s storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest decides where the end-session endpoint sends
// the browser. The library has checked the id_token_hint and that the
// post_logout_redirect_uri is listed. When the browser is still signed in
// to qlikgate as the hint's subject, it goes to qlikgate's own sign-out
// (the user confirms, and qlikgate's session ends too); otherwise straight
// to the validated address.
func (s storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if u, ok := qlikSignedIn(ctx); ok && req.UserID != "" && req.UserID == s.t.subject(u) {
		return s.t.logoutURL, nil
	}
	return req.RedirectURI, nil
}

func (s storage) RevokeToken(ctx context.Context, tokenOrID, _, _ string) *oidc.Error {
	if err := s.t.store.revokeToken(ctx, tokenOrID); err != nil {
		return oidc.ErrServerError()
	}
	return nil
}
func (s storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s storage) SigningKey(context.Context) (op.SigningKey, error) { return s.t.keys[0], nil }
func (s storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.t.keys[0].alg}, nil
}

// KeySet publishes every configured key, public parts only.
func (s storage) KeySet(context.Context) ([]op.Key, error) {
	out := make([]op.Key, len(s.t.keys))
	for i, k := range s.t.keys {
		out[i] = publicKey{k}
	}
	return out, nil
}

func (s storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.t.cfg.ClientID {
		return nil, errors.New("unknown client_id")
	}
	return s.t.client, nil
}

// AuthorizeClientIDSecret compares in constant time; the id is public, the
// secret is compared whatever the id, so the timing says nothing.
func (s storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.t.cfg.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.t.cfg.ClientSecret))
	if idOK&secretOK != 1 {
		s.t.refused("token", "wrong client_id or client_secret")
		return errors.New("wrong client_id or client_secret")
	}
	return nil
}

// SetUserinfoFromScopes has no user directory to read; the ID token's
// claims come from SetUserinfoFromRequest.
func (s storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	g, ok := req.(*grant)
	if !ok {
		return errUnsupported
	}
	g.fill(ui)
	return nil
}

func (s storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	g, ok, err := s.t.store.token(ctx, tokenID, s.t.now())
	if err != nil {
		return err
	}
	if !ok || g.Subject != subject {
		s.t.refused("userinfo", "access token unknown or expired")
		return errors.New("access token unknown or expired")
	}
	g.fill(ui)
	return nil
}

func (s storage) SetIntrospectionFromToken(ctx context.Context, ir *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	g, ok, err := s.t.store.token(ctx, tokenID, s.t.now())
	if err != nil {
		return err
	}
	if !ok || g.Subject != subject || g.ClientID != clientID {
		return errors.New("access token unknown or expired")
	}
	ui := new(oidc.UserInfo)
	g.fill(ui)
	ir.SetUserInfo(ui)
	ir.Active, ir.Scope, ir.ClientID = true, g.Scopes, g.ClientID
	return nil
}

func (s storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}
func (s storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}
func (s storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}
func (s storage) Health(context.Context) error { return nil }
