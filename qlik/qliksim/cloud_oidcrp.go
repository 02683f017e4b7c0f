package qliksim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// CloudOIDC configures the tenant's interactive identity provider: Qlik
// Cloud as a strict OpenID Connect relying party (contract §8.1), built on
// go-oidc and x/oauth2 like any careful RP. It follows discovery (issuer,
// authorization, token and JWKS endpoints required), sends only
// https://<tenant>/login/callback as redirect URI, redeems the code server
// to server (no browser cookie), verifies the ID token (RS256 or RS512 only,
// kid from the JWKS, iss, aud, exp), insists on the nonce and state echoes,
// reads claims from userinfo (or the ID token) with the same sub, keeps the
// email only when email_verified is the boolean true, and sets its session
// cookie on its own site after the top-level redirect back.
type CloudOIDC struct {
	// Issuer is the provider's issuer; discovery is at
	// {Issuer}/.well-known/openid-configuration. Must be https.
	Issuer       string
	ClientID     string
	ClientSecret string
	// AuthStyle is how the client authenticates at the token endpoint:
	// "basic" (default, client_secret_basic) or "post".
	AuthStyle string
	// PKCE sends an S256 code challenge.
	PKCE bool
	// SignatureAlg is the tenant's idTokenSignatureAlg, RS256 (default)
	// or RS512: the only algorithm it accepts.
	SignatureAlg string
	// UseIDTokenClaims reads the claims from the ID token instead of
	// userinfo (Qlik's useClaimsFromIdToken).
	UseIDTokenClaims bool
	// Scopes default to openid, profile, email.
	Scopes []string
	// PostLogoutRedirectURI is sent to the end-session endpoint at logout;
	// empty means the tenant's root.
	PostLogoutRedirectURI string
	// RootCAs verifies the provider's certificate (nil: the system's).
	RootCAs *x509.CertPool
	// HTTPClient, when set, is used for every call to the provider instead
	// of one built from RootCAs (tests that give qlikgate a host name).
	HTTPClient *http.Client
	// InsecureLoopback accepts an http issuer on 127.0.0.1 or localhost,
	// for `qlikgate demo` without -https; Qlik itself never would.
	InsecureLoopback bool
}

// CloudOIDCStats counts what the relying party did.
type CloudOIDCStats struct {
	Redirects int64 // browsers sent to the authorization endpoint
	Logins    int64 // callbacks that created a session
	Rejected  int64 // callbacks refused (state, nonce, token, signature, claims)
	Logouts   int64 // browsers sent to the end-session endpoint
	// LastError is the reason of the last refusal, "" if none.
	LastError string
}

// cloudRP is the running relying party.
type cloudRP struct {
	cfg    CloudOIDC
	client *http.Client

	once     sync.Mutex
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	endSess  string

	mu      sync.Mutex
	pending map[string]rpPending // by state

	redirects, logins, rejected, logouts atomic.Int64
	lastErr                              atomic.Value // string
}

type rpPending struct {
	returnTo, nonce, verifier string
	exp                       time.Time
}

// rpStateCookie binds the state to the browser that started the login.
const rpStateCookie = "qliksim-oidc-state"

// SetOIDC switches the tenant to an interactive OpenID Connect identity
// provider: anonymous browsers are sent to its authorization endpoint
// instead of LoginURL. Discovery happens at the first login, as when Qlik
// verifies a new identity provider.
func (c *Cloud) SetOIDC(o CloudOIDC) error {
	loopback := strings.HasPrefix(o.Issuer, "http://127.0.0.1:") || strings.HasPrefix(o.Issuer, "http://localhost:")
	if !strings.HasPrefix(o.Issuer, "https://") && !(o.InsecureLoopback && loopback) {
		return fmt.Errorf("qliksim: OIDC issuer %q must be https (Qlik calls it from the Internet with trusted TLS)", o.Issuer)
	}
	switch o.SignatureAlg {
	case "":
		o.SignatureAlg = oidc.RS256
	case oidc.RS256, oidc.RS512:
	default:
		return fmt.Errorf("qliksim: idTokenSignatureAlg %q: Qlik accepts RS256 or RS512", o.SignatureAlg)
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	rp := &cloudRP{cfg: o, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, pending: map[string]rpPending{}}
	if o.HTTPClient != nil {
		rp.client = o.HTTPClient
	}
	c.mu.Lock()
	c.rp = rp
	c.mu.Unlock()
	return nil
}

// OIDCStats returns the relying party's counters.
func (c *Cloud) OIDCStats() CloudOIDCStats {
	rp := c.relyingParty()
	if rp == nil {
		return CloudOIDCStats{}
	}
	last, _ := rp.lastErr.Load().(string)
	return CloudOIDCStats{Redirects: rp.redirects.Load(), Logins: rp.logins.Load(), Rejected: rp.rejected.Load(), Logouts: rp.logouts.Load(), LastError: last}
}

func (c *Cloud) relyingParty() *cloudRP {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rp
}

// callbackURL is the only redirect URI: the tenant's own host name.
func (c *Cloud) callbackURL() string { return c.url + "/login/callback" }

// discover fetches discovery once; a failure is retried at the next login.
func (rp *cloudRP) discover(ctx context.Context, callback string) error {
	rp.once.Lock()
	defer rp.once.Unlock()
	if rp.provider != nil {
		return nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, rp.client), rp.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("protocolError: discovery: %w", err)
	}
	var doc struct {
		Auth    string `json:"authorization_endpoint"`
		Token   string `json:"token_endpoint"`
		JWKS    string `json:"jwks_uri"`
		EndSess string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&doc); err != nil {
		return fmt.Errorf("protocolError: discovery: %w", err)
	}
	if doc.Auth == "" || doc.Token == "" || doc.JWKS == "" {
		return errors.New("protocolError: discovery lacks authorization_endpoint, token_endpoint or jwks_uri")
	}
	style := oauth2.AuthStyleInHeader
	if rp.cfg.AuthStyle == "post" {
		style = oauth2.AuthStyleInParams
	}
	ep := p.Endpoint()
	ep.AuthStyle = style
	rp.provider, rp.endSess = p, doc.EndSess
	rp.oauth = &oauth2.Config{ClientID: rp.cfg.ClientID, ClientSecret: rp.cfg.ClientSecret, Endpoint: ep, RedirectURL: callback, Scopes: rp.cfg.Scopes}
	rp.verifier = p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID, SupportedSigningAlgs: []string{rp.cfg.SignatureAlg}})
	return nil
}

// oidcRedirect sends an anonymous browser to the provider, reporting
// false when the tenant has no OIDC identity provider.
func (c *Cloud) oidcRedirect(w http.ResponseWriter, r *http.Request, returnTo string) bool {
	rp := c.relyingParty()
	if rp == nil {
		return false
	}
	if err := rp.discover(r.Context(), c.callbackURL()); err != nil {
		c.rpReject(w, rp, http.StatusBadGateway, err.Error())
		return true
	}
	state, nonce := cloudRandom(), cloudRandom()
	p := rpPending{returnTo: returnTo, nonce: nonce, exp: time.Now().Add(10 * time.Minute)}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce)}
	if rp.cfg.PKCE {
		p.verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(p.verifier))
	}
	rp.mu.Lock()
	for k, v := range rp.pending {
		if time.Now().After(v.exp) {
			delete(rp.pending, k)
		}
	}
	rp.pending[state] = p
	rp.mu.Unlock()
	// Lax: the callback is a top-level GET navigation from the provider's
	// site, on which the browser sends Lax cookies even with third-party
	// cookies blocked.
	http.SetCookie(w, &http.Cookie{Name: rpStateCookie, Value: state, Path: "/login/callback", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	rp.redirects.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, rp.oauth.AuthCodeURL(state, opts...), http.StatusFound)
	return true
}

// serveOIDCCallback is GET /login/callback.
func (c *Cloud) serveOIDCCallback(w http.ResponseWriter, r *http.Request) {
	rp := c.relyingParty()
	if rp == nil || rp.oauth == nil {
		writeCloudError(w, http.StatusNotFound, "Not Found", "no interactive identity provider", "HTTP-404")
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		c.rpReject(w, rp, http.StatusBadRequest, "callbackError: the provider answered "+e+": "+q.Get("error_description"))
		return
	}
	state := q.Get("state")
	ck, err := r.Cookie(rpStateCookie)
	if state == "" || err != nil || ck.Value != state {
		c.rpReject(w, rp, http.StatusBadRequest, "callbackError: state missing or not this browser's")
		return
	}
	rp.mu.Lock()
	p, ok := rp.pending[state]
	delete(rp.pending, state)
	rp.mu.Unlock()
	if !ok || time.Now().After(p.exp) {
		c.rpReject(w, rp, http.StatusBadRequest, "callbackError: state unknown, used or expired")
		return
	}
	// The token call is server to server: no browser cookie goes along.
	ctx := oidc.ClientContext(r.Context(), rp.client)
	var opts []oauth2.AuthCodeOption
	if p.verifier != "" {
		opts = append(opts, oauth2.VerifierOption(p.verifier))
	}
	tok, err := rp.oauth.Exchange(ctx, q.Get("code"), opts...)
	if err != nil {
		c.rpReject(w, rp, http.StatusBadRequest, "tokenError: "+err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		c.rpReject(w, rp, http.StatusBadRequest, "tokenError: no id_token")
		return
	}
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		c.rpReject(w, rp, http.StatusBadRequest, "tokenError: ID token: "+err.Error())
		return
	}
	if idt.Nonce != p.nonce {
		c.rpReject(w, rp, http.StatusBadRequest, "tokenError: nonce not echoed")
		return
	}
	claims := map[string]any{}
	if rp.cfg.UseIDTokenClaims {
		err = idt.Claims(&claims)
	} else {
		var ui *oidc.UserInfo
		if ui, err = rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			if ui.Subject != idt.Subject {
				err = fmt.Errorf("userinfo sub %q is not the ID token's %q", ui.Subject, idt.Subject)
			} else {
				err = ui.Claims(&claims)
			}
		}
	}
	if err != nil {
		c.rpReject(w, rp, http.StatusBadRequest, "claimsError: "+err.Error())
		return
	}
	u, err := cloudUserFromClaims(rp.cfg.Issuer, claims)
	if err != nil {
		c.rpReject(w, rp, http.StatusBadRequest, "claimsError: "+err.Error())
		return
	}
	sid, csrf := cloudRandom(), cloudRandom()
	c.mu.Lock()
	created := c.st.upsertUser(u, true)
	c.st.sessions[sid] = cloudSession{subject: u.Subject, csrf: csrf, idToken: raw}
	c.mu.Unlock()
	if created {
		c.stats.usersCreated.Add(1)
	}
	rp.logins.Add(1)
	for _, ck := range c.signedCookies(cloudSessionCookie, sid, false) {
		http.SetCookie(w, ck)
	}
	for _, ck := range c.signedCookies(cloudCSRFCookie, csrf, false) {
		http.SetCookie(w, ck)
	}
	http.SetCookie(w, &http.Cookie{Name: rpStateCookie, Path: "/login/callback", MaxAge: -1, Secure: true, HttpOnly: true})
	c.logf("login/callback: %q signed in through %s (new user: %v), session %s", u.Subject, rp.cfg.Issuer, created, redact(sid))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.returnTo, http.StatusFound)
}

// cloudUserFromClaims maps claims as the default claim mapping does: sub
// required, email kept only when email_verified is the boolean true,
// groups a string array.
func cloudUserFromClaims(issuer string, m map[string]any) (CloudUser, error) {
	sub, _ := m["sub"].(string)
	if sub == "" {
		return CloudUser{}, errors.New("no sub")
	}
	u := CloudUser{Subject: sub, Issuer: issuer}
	u.Name, _ = m["name"].(string)
	if v, ok := m["email_verified"].(bool); ok && v {
		u.Email, _ = m["email"].(string)
	}
	if gs, ok := m["groups"].([]any); ok {
		for _, g := range gs {
			s, ok := g.(string)
			if !ok {
				return CloudUser{}, fmt.Errorf("groups holds %T, not strings", g)
			}
			u.Groups = append(u.Groups, s)
		}
	} else if m["groups"] != nil {
		return CloudUser{}, fmt.Errorf("groups is %T, not a string array", m["groups"])
	}
	return u, nil
}

func (c *Cloud) rpReject(w http.ResponseWriter, rp *cloudRP, status int, reason string) {
	rp.rejected.Add(1)
	rp.lastErr.Store(reason)
	c.logf("login/callback: %d: %s", status, reason)
	writeCloudError(w, status, http.StatusText(status), reason, "LOGIN-OIDC")
}

// oidcLogout sends the browser to the provider's end-session endpoint
// after the tenant session ended, reporting false when there is none.
func (c *Cloud) oidcLogout(w http.ResponseWriter, r *http.Request, idToken string) bool {
	rp := c.relyingParty()
	if rp == nil || idToken == "" {
		return false
	}
	rp.once.Lock()
	end := rp.endSess
	rp.once.Unlock()
	if end == "" {
		return false
	}
	u, err := url.Parse(end)
	if err != nil {
		return false
	}
	back := rp.cfg.PostLogoutRedirectURI
	if back == "" {
		back = c.url + "/"
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("post_logout_redirect_uri", back)
	q.Set("client_id", rp.cfg.ClientID)
	q.Set("state", cloudRandom())
	u.RawQuery = q.Encode()
	rp.logouts.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
	return true
}
