package qliksim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// OAuth grant types and scopes of the tenant (contract §3.6, §8.2).
const (
	CloudGrantClientCredentials = "client_credentials"
	CloudGrantImpersonation     = "urn:qlik:oauth:user-impersonation"
	CloudScopeUserDefault       = "user_default"
	CloudScopeAdminClassic      = "admin_classic"
	CloudScopeAdminUsers        = "admin.users"
	// DefaultCloudTokenLifetime is Qlik's default access token lifetime
	// (360 minutes, contract §8.2).
	DefaultCloudTokenLifetime = 6 * time.Hour
)

// CloudOAuthClient is one of the tenant's OAuth clients (Administration →
// OAuth), as `POST /api/v1/oauth-clients` stores it.
type CloudOAuthClient struct {
	ID     string
	Secret string
	// GrantTypes are the allowedGrantTypes: CloudGrantClientCredentials,
	// CloudGrantImpersonation.
	GrantTypes []string
	// Scopes are the allowedScopes, e.g. user_default, admin_classic.
	Scopes []string
	// AllowedOrigins are the browser origins that may call the tenant's
	// API with this client's tokens (CORS for bearer calls).
	AllowedOrigins []string
	// TokenLifetime is the access token lifetime, default 6h (Qlik allows
	// 15–1440 minutes; the simulator allows any positive value, so that
	// tests can watch tokens expire).
	TokenLifetime time.Duration
}

// CloudOAuthStats counts what the OAuth endpoints saw.
type CloudOAuthStats struct {
	TokensIssued        int64 // /oauth/token answered 200, any grant
	ImpersonationTokens int64 // of which user-impersonation
	TokenRequestsFailed int64 // /oauth/token answered 4xx
	UsersCreatedByAPI   int64 // POST /api/v1/users answered 201
	BearerCalls         int64 // API calls authorised by a valid bearer token
	BearerRejected      int64 // API calls refused for a missing, unknown or expired token
}

// cloudOAuth is the OAuth part of the tenant; clients and tokens are
// guarded by Cloud.mu.
type cloudOAuth struct {
	clients map[string]CloudOAuthClient // by id
	origins map[string]bool             // every client's allowed origins, canonical
	tokens  map[string]cloudToken       // by access token

	issued, impersonations, failed, created, bearerOK, bearerBad atomic.Int64
}

// cloudToken is an issued access token.
type cloudToken struct {
	client  string
	subject string // the user it acts as; "" for a client-credentials token
	scopes  []string
	expires time.Time
}

// AddOAuthClient adds or replaces an OAuth client.
func (c *Cloud) AddOAuthClient(cl CloudOAuthClient) error {
	if strings.TrimSpace(cl.ID) == "" || cl.Secret == "" {
		return fmt.Errorf("qliksim: OAuth client needs an id and a secret")
	}
	for _, g := range cl.GrantTypes {
		if g != CloudGrantClientCredentials && g != CloudGrantImpersonation {
			return fmt.Errorf("qliksim: OAuth client %s: grant type %q is not simulated", cl.ID, g)
		}
	}
	if cl.TokenLifetime == 0 {
		cl.TokenLifetime = DefaultCloudTokenLifetime
	}
	if cl.TokenLifetime < 0 {
		return fmt.Errorf("qliksim: OAuth client %s: negative token lifetime", cl.ID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o := &c.oauth
	if o.clients == nil {
		o.clients, o.origins, o.tokens = map[string]CloudOAuthClient{}, map[string]bool{}, map[string]cloudToken{}
	}
	for i, raw := range cl.AllowedOrigins {
		canon, err := canonicalWebOrigin(raw)
		if err != nil {
			return fmt.Errorf("qliksim: OAuth client %s: origin %q: %w", cl.ID, raw, err)
		}
		cl.AllowedOrigins[i] = canon
		o.origins[canon] = true
	}
	cl.GrantTypes, cl.Scopes = slices.Clone(cl.GrantTypes), slices.Clone(cl.Scopes)
	o.clients[cl.ID] = cl
	return nil
}

// DisableUser sets a user's status to disabled: impersonation then
// answers 403.
func (c *Cloud) DisableUser(subject string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.st.users[subject]
	if ok {
		u.Disabled = true
		c.st.users[subject] = u
	}
	return ok
}

// OAuthStats returns a snapshot of the OAuth counters.
func (c *Cloud) OAuthStats() CloudOAuthStats {
	o := &c.oauth
	return CloudOAuthStats{
		TokensIssued:        o.issued.Load(),
		ImpersonationTokens: o.impersonations.Load(),
		TokenRequestsFailed: o.failed.Load(),
		UsersCreatedByAPI:   o.created.Load(),
		BearerCalls:         o.bearerOK.Load(),
		BearerRejected:      o.bearerBad.Load(),
	}
}

// oauthError is a refusal of the OAuth endpoints, in the tenant's error
// document. The codes are the simulator's: Qlik documents the statuses
// and the shape, not the codes (contract §8.2).
type oauthError struct {
	status int
	title  string
	detail string
	code   string
}

func (c *Cloud) refuseOAuth(w http.ResponseWriter, r *http.Request, e oauthError) {
	c.logf("%s %s: %d %s: %s", r.Method, r.URL.Path, e.status, e.code, e.detail)
	w.Header().Set("Cache-Control", "no-store")
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="qlik"`)
	}
	writeCloudError(w, e.status, e.title, e.detail, e.code)
}

// tokenRequest is POST /oauth/token's body, JSON or form.
type tokenRequest struct {
	ClientID     string     `json:"client_id"`
	ClientSecret string     `json:"client_secret"`
	GrantType    string     `json:"grant_type"`
	Scope        string     `json:"scope"`
	UserLookup   userLookup `json:"user_lookup"`
	Assertion    string     `json:"client_assertion"`
}

type userLookup struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// serveOAuthToken is POST /oauth/token: the client-credentials and
// user-impersonation grants (contract §3.6, §8.2).
func (c *Cloud) serveOAuthToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use POST", "HTTP-405")
		return
	}
	req, e := parseTokenRequest(r)
	if e == nil {
		var tok string
		var body map[string]any
		tok, body, e = c.grant(req, r)
		if e == nil {
			c.oauth.issued.Add(1)
			c.logf("POST /oauth/token: %s for client %s: issued %s", req.GrantType, req.ClientID, redact(tok))
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, body)
			return
		}
	}
	c.oauth.failed.Add(1)
	c.refuseOAuth(w, r, *e)
}

func badRequest(detail string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", detail, "OAUTH-1"}
}

// parseTokenRequest reads the body as JSON or as a form. In a form,
// user_lookup may be a JSON object or user_lookup[field] and
// user_lookup[value] (Qlik documents the JSON form only).
func parseTokenRequest(r *http.Request) (tokenRequest, *oauthError) {
	var req tokenRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return req, badRequest("read body: " + err.Error())
	}
	switch mt {
	case "application/json":
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(&req); err != nil {
			return req, badRequest("body is not a JSON token request: " + err.Error())
		}
	case "application/x-www-form-urlencoded":
		f, err := url.ParseQuery(string(raw))
		if err != nil {
			return req, badRequest("malformed form body")
		}
		req.ClientID, req.ClientSecret, req.GrantType = f.Get("client_id"), f.Get("client_secret"), f.Get("grant_type")
		req.Scope, req.Assertion = f.Get("scope"), f.Get("client_assertion")
		if ul := f.Get("user_lookup"); ul != "" {
			if err := json.Unmarshal([]byte(ul), &req.UserLookup); err != nil {
				return req, badRequest("user_lookup is not a JSON object")
			}
		} else {
			req.UserLookup = userLookup{Field: f.Get("user_lookup[field]"), Value: f.Get("user_lookup[value]")}
		}
	default:
		return req, badRequest("Content-Type must be application/json or application/x-www-form-urlencoded, not " + mt)
	}
	if id, secret, ok := r.BasicAuth(); ok {
		if req.ClientID != "" || req.ClientSecret != "" {
			return req, badRequest("client credentials both in the Authorization header and in the body")
		}
		req.ClientID, req.ClientSecret = id, secret
	}
	return req, nil
}

// grant authenticates the client and issues the token.
func (c *Cloud) grant(req tokenRequest, r *http.Request) (string, map[string]any, *oauthError) {
	switch {
	case req.Assertion != "":
		return "", nil, badRequest("client_assertion (private key JWT) is not simulated")
	case req.GrantType == "":
		return "", nil, badRequest("grant_type is required")
	case req.ClientID == "" || req.ClientSecret == "":
		return "", nil, &oauthError{http.StatusUnauthorized, "invalid_client", "client_id and client_secret are required", "OAUTH-2"}
	}
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.oauth.clients[req.ClientID]
	// The secret is compared even for an unknown client, in constant time.
	want := cl.Secret
	if !ok {
		want = "\x00unknown"
	}
	if subtle.ConstantTimeCompare([]byte(req.ClientSecret), []byte(want)) != 1 || !ok {
		return "", nil, &oauthError{http.StatusUnauthorized, "invalid_client", "unknown client or wrong client secret", "OAUTH-2"}
	}
	if !slices.Contains(cl.GrantTypes, req.GrantType) {
		return "", nil, &oauthError{http.StatusBadRequest, "unauthorized_client", "grant_type " + req.GrantType + " is not allowed for this client", "OAUTH-3"}
	}
	scopes := strings.Fields(req.Scope)
	for _, s := range scopes {
		if !slices.Contains(cl.Scopes, s) {
			return "", nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope " + s + " is not allowed for this client", "OAUTH-4"}
		}
	}
	tok := cloudToken{client: cl.ID, scopes: scopes, expires: now.Add(cl.TokenLifetime)}
	switch req.GrantType {
	case CloudGrantImpersonation:
		if !slices.Contains(scopes, CloudScopeUserDefault) {
			return "", nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope user_default is required for impersonation", "OAUTH-4"}
		}
		u, e := c.lookupUser(req.UserLookup)
		if e != nil {
			return "", nil, e
		}
		tok.subject = u.Subject
		c.oauth.impersonations.Add(1)
	case CloudGrantClientCredentials:
		if len(scopes) == 0 {
			tok.scopes = slices.Clone(cl.Scopes)
		}
	}
	value := "qs-at-" + cloudRandom() + cloudRandom()
	c.oauth.tokens[value] = tok
	for k, t := range c.oauth.tokens { // forget expired tokens
		if !now.Before(t.expires) {
			delete(c.oauth.tokens, k)
		}
	}
	return value, map[string]any{
		"access_token": value,
		"token_type":   "bearer",
		"expires_at":   tok.expires.UTC().Format(time.RFC3339Nano),
		"scope":        strings.Join(tok.scopes, " "),
	}, nil
}

// lookupUser finds the user of an impersonation request; c.mu is held.
func (c *Cloud) lookupUser(l userLookup) (CloudUser, *oauthError) {
	if l.Field == "" || l.Value == "" {
		return CloudUser{}, badRequest("user_lookup {field, value} is required for impersonation")
	}
	var found *CloudUser
	for _, u := range c.st.users {
		var v string
		switch l.Field {
		case "subject":
			v = u.Subject
		case "userId":
			v = u.ID
		case "email": // UNCONFIRMED in Qlik's documentation; accepted
			v = u.Email
		default:
			return CloudUser{}, badRequest("user_lookup.field must be subject, userId or email")
		}
		if v == l.Value {
			found = &u
			break
		}
	}
	switch {
	case found == nil:
		return CloudUser{}, &oauthError{http.StatusBadRequest, "invalid_request", "user not found: the user must exist in the tenant", "OAUTH-10"}
	case found.Disabled:
		return CloudUser{}, &oauthError{http.StatusForbidden, "access_denied", "the user is disabled", "OAUTH-11"}
	}
	return *found, nil
}

// bearer returns the valid token of the request's Authorization header.
func (c *Cloud) bearer(w http.ResponseWriter, r *http.Request) (cloudToken, bool) {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
		c.oauth.bearerBad.Add(1)
		c.refuseOAuth(w, r, oauthError{http.StatusUnauthorized, "Unauthorized", "no bearer token", "AUTH-1"})
		return cloudToken{}, false
	}
	c.mu.Lock()
	tok, ok := c.oauth.tokens[strings.TrimSpace(value)]
	c.mu.Unlock()
	if !ok || !c.opts.Now().Before(tok.expires) {
		c.oauth.bearerBad.Add(1)
		c.refuseOAuth(w, r, oauthError{http.StatusUnauthorized, "Unauthorized", "unknown or expired access token", "AUTH-1"})
		return cloudToken{}, false
	}
	c.oauth.bearerOK.Add(1)
	return tok, true
}

// cloudUserJSON is a user as the users API shows it.
func cloudUserJSON(u CloudUser) map[string]any {
	status := "active"
	if u.Disabled {
		status = "disabled"
	}
	return map[string]any{"id": u.ID, "subject": u.Subject, "name": u.Name, "email": u.Email, "status": status}
}

// serveUsersMe is GET /api/v1/users/me: the user a bearer token acts as.
func (c *Cloud) serveUsersMe(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use GET", "HTTP-405")
		return
	}
	tok, ok := c.bearer(w, r)
	if !ok {
		return
	}
	if tok.subject == "" {
		c.refuseOAuth(w, r, oauthError{http.StatusForbidden, "Forbidden", "a client-credentials token acts as no user", "AUTH-2"})
		return
	}
	c.mu.Lock()
	u, found := c.st.users[tok.subject]
	c.mu.Unlock()
	if !found || u.Disabled {
		c.refuseOAuth(w, r, oauthError{http.StatusForbidden, "Forbidden", "the token's user is gone or disabled", "AUTH-2"})
		return
	}
	writeJSON(w, http.StatusOK, cloudUserJSON(u))
}

// serveUsers is POST /api/v1/users: an administrator's token creates a
// user {subject, name, email, status}.
func (c *Cloud) serveUsers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeCloudError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use POST (listing users is not simulated)", "HTTP-405")
		return
	}
	tok, ok := c.bearer(w, r)
	if !ok {
		return
	}
	if tok.subject != "" || (!slices.Contains(tok.scopes, CloudScopeAdminClassic) && !slices.Contains(tok.scopes, CloudScopeAdminUsers)) {
		c.refuseOAuth(w, r, oauthError{http.StatusForbidden, "Forbidden", "creating users needs a machine-to-machine token with scope admin_classic or admin.users", "USERS-403"})
		return
	}
	var body struct {
		Subject string `json:"subject"`
		Name    string `json:"name"`
		Email   string `json:"email"`
		Status  string `json:"status"`
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		c.refuseOAuth(w, r, oauthError{http.StatusBadRequest, "Bad Request", "Content-Type must be application/json", "USERS-400"})
		return
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil || strings.TrimSpace(body.Subject) == "" {
		c.refuseOAuth(w, r, oauthError{http.StatusBadRequest, "Bad Request", "a JSON body with subject is required", "USERS-400"})
		return
	}
	if body.Status != "" && body.Status != "active" && body.Status != "disabled" {
		c.refuseOAuth(w, r, oauthError{http.StatusBadRequest, "Bad Request", "status must be active or disabled", "USERS-400"})
		return
	}
	u := CloudUser{Subject: body.Subject, Name: body.Name, Email: body.Email, Issuer: "api", Disabled: body.Status == "disabled"}
	c.mu.Lock()
	if _, exists := c.st.users[u.Subject]; exists {
		c.mu.Unlock()
		c.refuseOAuth(w, r, oauthError{http.StatusConflict, "Conflict", "a user with this subject exists", "USERS-409"})
		return
	}
	c.st.upsertUser(u, true)
	u = c.st.users[u.Subject]
	c.mu.Unlock()
	c.oauth.created.Add(1)
	c.logf("POST /api/v1/users: created %s (%s)", u.Subject, u.ID)
	writeJSON(w, http.StatusCreated, cloudUserJSON(u))
}

// oauthCORS decides CORS for bearer calls from browsers (qlik-embed's
// REST calls: Authorization header, no credentials), which the OAuth
// client's allowed origins govern rather than a web integration. handled
// is false for requests that are not bearer calls with an OAuth token
// (a JWT login also sends Authorization: Bearer); then the web
// integration's rules apply.
func (c *Cloud) oauthCORS(w http.ResponseWriter, r *http.Request, origin string, preflight bool) (proceed, handled bool) {
	canon, err := canonicalWebOrigin(origin)
	if err != nil || !strings.HasPrefix(r.URL.Path, "/api/") {
		return false, false
	}
	h := w.Header()
	if preflight {
		asked := strings.Split(strings.ToLower(r.Header.Get("Access-Control-Request-Headers")), ",")
		if !slices.ContainsFunc(asked, func(s string) bool { return strings.TrimSpace(s) == "authorization" }) {
			return false, false
		}
		c.mu.Lock()
		allowed := c.oauth.origins[canon]
		c.mu.Unlock()
		if !allowed {
			return false, false
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Methods", cloudCORSAllowMethods)
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		c.stats.preflightsOK.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return false, true
	}
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return false, false
	}
	c.mu.Lock()
	tok, known := c.oauth.tokens[strings.TrimSpace(value)]
	allowed := known && slices.Contains(c.oauth.clients[tok.client].AllowedOrigins, canon)
	c.mu.Unlock()
	if !known {
		return false, false
	}
	if !allowed {
		c.stats.corsDenied.Add(1)
		c.logf("CORS: %s %s from origin %q denied: not an allowed origin of the token's OAuth client", r.Method, r.URL.Path, origin)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return true, true // served, but the browser hides the answer
		}
		writeCloudError(w, http.StatusForbidden, "Forbidden", "origin not allowed by the OAuth client", "CORS-2")
		return false, true
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	return true, true
}
