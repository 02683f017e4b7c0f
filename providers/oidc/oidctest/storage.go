package oidctest

import (
	"context"
	"errors"
	"sync"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// store is the example's in-memory storage with three changes: clients live
// in this OP rather than in the example's package-global registry (so
// parallel tests cannot see each other's clients), users carry extra
// claims, and a client may have its ID tokens' audience replaced.
type store struct {
	*storage.Storage
	users *userStore

	mu      sync.RWMutex
	clients map[string]*client
}

func newStore(users *userStore) *store {
	return &store{
		// The map given here is only read by the device flow, not used.
		Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{}),
		users:   users,
		clients: map[string]*client{},
	}
}

func (s *store) register(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.cfg.ID] = c
}

func (s *store) client(id string) (*client, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[id]
	return c, ok
}

// GetClientByClientID implements op.Storage over this OP's clients.
func (s *store) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if c, ok := s.client(id); ok {
		return c, nil
	}
	return nil, errors.New("client not found")
}

// AuthorizeClientIDSecret implements op.Storage over this OP's clients.
func (s *store) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if c, ok := s.client(id); ok && c.secretMatches(secret) {
		return nil
	}
	return errors.New("invalid client id or secret")
}

// AuthRequestByCode hands the token endpoint a request made out to another
// client when the client asks for it (Client.IssueTokensTo); the ID token's
// aud and azp come from it.
func (s *store) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	req, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	if c, ok := s.client(req.GetClientID()); ok && c.cfg.IssueTokensTo != "" {
		return reissuedRequest{AuthRequest: req, clientID: c.cfg.IssueTokensTo}, nil
	}
	return req, nil
}

type reissuedRequest struct {
	op.AuthRequest
	clientID string
}

func (r reissuedRequest) GetClientID() string   { return r.clientID }
func (r reissuedRequest) GetAudience() []string { return []string{r.clientID} }

// SetUserinfoFromRequest fills the ID token's claims: the example's, plus
// the user's Claims.
func (s *store) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	if u, ok := s.users.get(req.GetSubject()); ok {
		appendClaims(ui, u.Claims)
	}
	return nil
}

// SetUserinfoFromToken fills the userinfo answer: the example's, plus the
// user's Claims and UserInfoClaims.
func (s *store) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	sub := ui.Subject
	if sub == "" {
		sub = subject
	}
	if u, ok := s.users.get(sub); ok {
		appendClaims(ui, u.Claims)
		appendClaims(ui, u.UserInfoClaims)
	}
	return nil
}

func appendClaims(ui *oidc.UserInfo, claims map[string]any) {
	for k, v := range claims {
		ui.AppendClaims(k, v)
	}
}
