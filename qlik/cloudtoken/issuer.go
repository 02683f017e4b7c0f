// Package cloudtoken obtains Qlik Cloud OAuth access tokens for signed-in
// users, for qlik-embed mashups (contract §3.6, §8.2): qlikgate holds the
// tenant's impersonation OAuth client and asks POST {tenant}/oauth/token
// with grant urn:qlik:oauth:user-impersonation for a token acting as the
// user, found by subject. Qlik issues such tokens only for users that
// exist, so when the tenant does not know the user, an admin
// machine-to-machine client creates it (POST /api/v1/users) and the
// impersonation is tried once more.
//
// Tokens are cached per subject until shortly before they expire, with
// one tenant call for concurrent requests of the same user. Every Qlik
// Cloud target kind embeds a Config and delegates its
// qlik.AccessTokenIssuer to an Issuer, so the kinds cannot differ in
// how tokens are obtained.
//
// Decisions where Qlik is silent: the token request is JSON with the
// client secret in the body (both documented); a 400 or 404 from the
// impersonation grant may mean an unknown user (Qlik does not document
// its code), so it leads to one user creation and one retry, while 401
// (bad client) and 403 (user disabled, token cap) end the attempt; a
// 409 from the users API means the user exists already.
package cloudtoken

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/qlik"
)

// ImpersonationGrant is the grant type of a user-impersonation token.
const ImpersonationGrant = "urn:qlik:oauth:user-impersonation"

// Issuer obtains and caches impersonation tokens from one tenant. It is
// safe for concurrent use.
type Issuer struct {
	cfg    Config
	tenant string // https://host[:port], no trailing slash
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	cache  *cache
	admin  *cache // the admin client's token, under one key
	flight singleflight.Group
}

// New returns an Issuer for the tenant at origin tenant (no trailing
// slash). roots are the CAs that sign the tenant's certificate, nil for
// the system's. cfg must have passed Validate and be Enabled.
func New(cfg Config, tenant string, roots *x509.CertPool, log *slog.Logger) *Issuer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &Issuer{
		cfg:    cfg,
		tenant: strings.TrimSuffix(tenant, "/"),
		// Redirects are not followed: a token endpoint that redirects is
		// not Qlik's, and the client secret must not travel on.
		client: &http.Client{Transport: tr, Timeout: cfg.OAuthTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		log:   log,
		now:   time.Now,
		cache: newCache(cfg.TokenCacheSize),
		admin: newCache(1),
	}
}

// SetClock replaces the clock that judges cached tokens' expiry (tests).
func (i *Issuer) SetClock(now func() time.Time) { i.now = now }

// Token returns an access token acting as the user with the given
// subject; u supplies the name and email if the user must be created.
// Each user's token is cached under their subject alone, so no user is
// ever given a token obtained for another subject.
func (i *Issuer) Token(ctx context.Context, subject string, u qlik.User) (qlik.AccessToken, error) {
	if strings.TrimSpace(subject) == "" {
		return qlik.AccessToken{}, errors.New("cloudtoken: the user has no subject")
	}
	if tok, ok := i.cache.get(subject, i.now()); ok {
		tok.Cached = true
		return tok, nil
	}
	// One tenant call for all concurrent requests of this subject. The
	// call must not die with the first caller's request (the others wait
	// on it), so it runs on its own deadline, keeping the values.
	ch := i.flight.DoChan(subject, func() (any, error) {
		if tok, ok := i.cache.get(subject, i.now()); ok {
			return tok, nil
		}
		// At most four calls: impersonate, admin token, create, impersonate.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*i.cfg.OAuthTimeout)
		defer cancel()
		tok, err := i.fetch(fctx, subject, u)
		if err != nil {
			return nil, err
		}
		i.cache.put(subject, tok, i.now())
		return tok, nil
	})
	select {
	case <-ctx.Done():
		return qlik.AccessToken{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return qlik.AccessToken{}, res.Err
		}
		return res.Val.(qlik.AccessToken), nil
	}
}

// fetch asks the tenant for a token, creating the user when the tenant
// does not know it and an admin client is configured.
func (i *Issuer) fetch(ctx context.Context, subject string, u qlik.User) (qlik.AccessToken, error) {
	tok, err := i.impersonate(ctx, subject)
	var te *TenantError
	if err == nil || i.cfg.AdminClientID == "" || !errors.As(err, &te) || (te.Status != http.StatusBadRequest && te.Status != http.StatusNotFound) {
		return tok, err
	}
	created, cerr := i.createUser(ctx, subject, u)
	if cerr != nil {
		return qlik.AccessToken{}, fmt.Errorf("%w; creating the user: %w", err, cerr)
	}
	if created {
		i.log.InfoContext(ctx, "created the user in the tenant for their first embed", audit.Key, audit.EmbedUserCreated, "user", u.UserID, "subject", subject)
	}
	return i.impersonate(ctx, subject)
}

// tokenReply is /oauth/token's answer.
type tokenReply struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresAt   string `json:"expires_at"`
	ExpiresIn   int64  `json:"expires_in"` // not Qlik's; accepted if a tenant sends it
	Scope       string `json:"scope"`
}

func (i *Issuer) impersonate(ctx context.Context, subject string) (qlik.AccessToken, error) {
	return i.token(ctx, map[string]any{
		"client_id":     i.cfg.OAuthClientID,
		"client_secret": i.cfg.OAuthClientSecret,
		"grant_type":    ImpersonationGrant,
		"user_lookup":   map[string]string{"field": "subject", "value": subject},
		"scope":         Scope,
	}, "the impersonation token")
}

// adminToken is the admin client's client-credentials token, cached.
func (i *Issuer) adminToken(ctx context.Context) (string, error) {
	if tok, ok := i.admin.get("", i.now()); ok {
		return tok.Value, nil
	}
	tok, err := i.token(ctx, map[string]any{
		"client_id":     i.cfg.AdminClientID,
		"client_secret": i.cfg.AdminClientSecret,
		"grant_type":    "client_credentials",
		"scope":         i.cfg.AdminScope,
	}, "the admin client's token")
	if err != nil {
		return "", err
	}
	i.admin.put("", tok, i.now())
	return tok.Value, nil
}

// token posts a token request and parses the answer.
func (i *Issuer) token(ctx context.Context, body map[string]any, what string) (qlik.AccessToken, error) {
	var r tokenReply
	if err := i.call(ctx, http.MethodPost, "/oauth/token", "", body, &r, what); err != nil {
		return qlik.AccessToken{}, err
	}
	if r.AccessToken == "" || !strings.EqualFold(r.TokenType, "bearer") {
		return qlik.AccessToken{}, fmt.Errorf("cloudtoken: %s: the tenant's answer has no bearer access_token", what)
	}
	tok := qlik.AccessToken{Value: r.AccessToken, Scope: r.Scope}
	switch {
	case r.ExpiresAt != "":
		at, err := time.Parse(time.RFC3339Nano, r.ExpiresAt)
		if err != nil {
			return qlik.AccessToken{}, fmt.Errorf("cloudtoken: %s: expires_at %q is not an ISO time", what, truncate(r.ExpiresAt, 40))
		}
		tok.ExpiresAt = at
	case r.ExpiresIn > 0:
		tok.ExpiresAt = i.now().Add(time.Duration(r.ExpiresIn) * time.Second)
	default:
		return qlik.AccessToken{}, fmt.Errorf("cloudtoken: %s: the tenant's answer has no expires_at", what)
	}
	return tok, nil
}

// createUser creates the user with the admin client and reports whether
// it is new (false: it existed already).
func (i *Issuer) createUser(ctx context.Context, subject string, u qlik.User) (bool, error) {
	admin, err := i.adminToken(ctx)
	if err != nil {
		return false, err
	}
	name := u.Name
	if strings.TrimSpace(name) == "" {
		name = u.UserID
	}
	body := map[string]any{"subject": subject, "name": name, "status": "active"}
	if u.Email != "" {
		body["email"] = u.Email
	}
	err = i.call(ctx, http.MethodPost, "/api/v1/users", admin, body, nil, "creating the user")
	var te *TenantError
	if errors.As(err, &te) && te.Status == http.StatusConflict {
		return false, nil
	}
	if errors.As(err, &te) && te.Status == http.StatusUnauthorized {
		i.admin.drop("")
	}
	return err == nil, err
}

// TenantError is a refusal by the tenant: its status and Qlik's first
// error (code, title, detail), never a secret.
type TenantError struct {
	What   string // what was asked, for the message
	Status int
	Code   string
	Detail string
}

func (e *TenantError) Error() string {
	return fmt.Sprintf("cloudtoken: %s: the tenant answered %d %s: %s", e.What, e.Status, e.Code, e.Detail)
}

// call sends a JSON request and decodes a 2xx answer into out (if not nil).
func (i *Issuer) call(ctx context.Context, method, path, bearer string, body, out any, what string) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("cloudtoken: %s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, i.tenant+path, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("cloudtoken: %s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := i.client.Do(req)
	if err != nil {
		// *url.Error names the URL (no secret in it) and keeps the
		// cause for the caller's unreachable check.
		return fmt.Errorf("cloudtoken: %s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("cloudtoken: %s: read the answer: %w", what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return tenantError(what, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("cloudtoken: %s: the answer is not JSON: %w", what, err)
		}
	}
	return nil
}

// tenantError reads Qlik's {"errors":[{code,title,detail}]} or an OAuth
// {"error","error_description"} body; anything else is summarised by
// status alone, since a body that is not Qlik's could echo a secret.
func tenantError(what string, status int, raw []byte) *TenantError {
	var body struct {
		Errors []struct {
			Code, Title, Detail string
		} `json:"errors"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	te := &TenantError{What: what, Status: status}
	if json.Unmarshal(raw, &body) == nil {
		switch {
		case len(body.Errors) > 0:
			e := body.Errors[0]
			te.Code, te.Detail = e.Code, strings.TrimSpace(e.Title+": "+e.Detail)
		case body.Error != "":
			te.Code, te.Detail = body.Error, body.Description
		}
	}
	te.Code, te.Detail = truncate(te.Code, 60), truncate(te.Detail, 200)
	if te.Detail == "" {
		te.Detail = http.StatusText(status)
	}
	return te
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
