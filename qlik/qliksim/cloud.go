package qliksim

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CloudOptions configures a simulated Qlik Cloud tenant.
type CloudOptions struct {
	// IdPs are the tenant's JWT identity providers. More can be added with
	// AddIdP once the test knows its key.
	IdPs []CloudIdP
	// WebIntegrationID is the id of the tenant's web integration. Browser
	// calls (those with an Origin header) must present it.
	WebIntegrationID string
	// ValidOrigins is the web integration's allow list: exact origins such
	// as "https://auth.example.com" or "https://auth.example.com:8443". No
	// wildcards, no paths; the port counts (contract §3.4).
	ValidOrigins []string
	// ClockTolerance widens the JWT's [nbf, exp] window on both sides, like
	// the IdP's clockToleranceSec. Default 5s; negative means none.
	ClockTolerance time.Duration
	// LoginURL is where an anonymous browser asking for the hub is sent,
	// with returnto=<the URL it asked for>; it stands for the tenant's
	// interactive login (here: the authentication module). It can also be
	// set later with SetLoginURL.
	LoginURL string
	// Addr is the listen address, default "127.0.0.1:0".
	Addr string
	// PKI provides the tenant's server certificate; nil generates one with
	// NewPKI(nil) (names "localhost", 127.0.0.1 and ::1).
	PKI *PKI
	// Now is the clock for JWT validation, default time.Now. TLS
	// certificate checks always use the real time.
	Now func() time.Time
	// Logf, when set, receives every rejection with its reason (e.g. t.Logf).
	Logf func(format string, args ...any)
	// OAuthClients are the tenant's OAuth clients (POST /oauth/token);
	// more can be added with AddOAuthClient.
	OAuthClients []CloudOAuthClient
}

// CloudStats counts what the tenant saw.
type CloudStats struct {
	Logins          int64 // POST /login/jwt-session answered 200
	LoginsRejected  int64 // POST /login/jwt-session answered 4xx
	UsersCreated    int64 // users created by their first JWT login
	PreflightsOK    int64 // CORS preflights answered with CORS headers
	CORSDenied      int64 // requests or preflights from an origin the web integration does not allow
	CSRFTokensSent  int64 // GET /api/v1/csrf-token answered 204
	SessionsEnded   int64 // sessions ended by /logout
	HubPagesServed  int64 // hub pages served to a signed-in browser
	LoginRedirects  int64 // anonymous browsers sent to LoginURL
	ReplaysRejected int64 // JWTs refused because their jti was used before
}

// Cloud is a running simulated Qlik Cloud tenant (contract §3) served over
// HTTPS: a JWT identity provider's POST /login/jwt-session with the four
// session cookies it sets, the CORS rules of one web integration, GET
// /api/v1/csrf-token, /login?returnto=, /logout and a stand-in for the hub
// that sends anonymous browsers to LoginURL. It is safe for concurrent use.
type Cloud struct {
	opts    CloudOptions // normalised: every default filled in
	pki     *PKI
	url     string // "https://127.0.0.1:PORT", no trailing slash
	origins map[string]bool
	sigKey  []byte // signs the .sig cookies, like the tenant's keygrip keys

	life lifecycle

	mu       sync.Mutex
	loginURL string
	idps     map[string]cloudIdP // by kid
	st       cloudState
	rp       *cloudRP // the interactive OIDC identity provider (SetOIDC), or nil
	oauth    cloudOAuth

	stats struct {
		logins, loginsRejected, usersCreated, preflightsOK, corsDenied atomic.Int64
		csrfTokensSent, sessionsEnded, hubPages, loginRedirects        atomic.Int64
		replays                                                        atomic.Int64
	}
}

// NewCloud starts a simulated tenant. Call Close when done.
func NewCloud(opts CloudOptions) (*Cloud, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	switch {
	case opts.ClockTolerance == 0:
		opts.ClockTolerance = 5 * time.Second
	case opts.ClockTolerance < 0:
		opts.ClockTolerance = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cloud{
		opts:     opts,
		pki:      opts.PKI,
		origins:  map[string]bool{},
		sigKey:   make([]byte, 32),
		loginURL: opts.LoginURL,
		idps:     map[string]cloudIdP{},
		life:     lifecycle{prefix: "qliksim cloud: ", logf: opts.Logf},
		st:       newCloudState(),
	}
	for _, o := range opts.ValidOrigins {
		canon, err := canonicalWebOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("qliksim: valid origin %q: %w", o, err)
		}
		c.origins[canon] = true
	}
	for i, idp := range opts.IdPs {
		pub, err := parseIdPKeyPEM(idp.PEM)
		if err != nil {
			return nil, fmt.Errorf("qliksim: IdP %d (%s): %w", i, idp.Issuer, err)
		}
		if err := c.AddIdP(idp.Issuer, idp.KeyID, pub); err != nil {
			return nil, err
		}
	}
	for _, cl := range opts.OAuthClients {
		if err := c.AddOAuthClient(cl); err != nil {
			return nil, err
		}
	}
	if _, err := rand.Read(c.sigKey); err != nil {
		return nil, fmt.Errorf("qliksim: cookie signing key: %w", err)
	}
	if c.pki == nil {
		var err error
		if c.pki, err = NewPKI(nil); err != nil {
			return nil, fmt.Errorf("qliksim: %w", err)
		}
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("qliksim: listen tenant on %s: %w", opts.Addr, err)
	}
	c.url = "https://" + dialAddr(ln.Addr())
	c.life.serve("tenant", &http.Server{
		Handler:           c.life.track(http.HandlerFunc(c.serve)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          c.life.errorLog(),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{c.pki.server},
			MinVersion:   tls.VersionTLS12,
		},
	}, ln)
	c.logf("Qlik Cloud tenant %s, web integration %q for %v", c.url, opts.WebIntegrationID, opts.ValidOrigins)
	return c, nil
}

// URL is the tenant's address, "https://127.0.0.1:PORT" without a trailing
// slash, the form of tenant_url.
func (c *Cloud) URL() string { return c.url }

// PKI returns the certificates; PKI().RootPEM() is the CA a client must
// trust to reach the tenant.
func (c *Cloud) PKI() *PKI { return c.pki }

// SetLoginURL sets where anonymous browsers asking for the hub are sent.
func (c *Cloud) SetLoginURL(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loginURL = u
}

// Stats returns a snapshot of the counters.
func (c *Cloud) Stats() CloudStats {
	return CloudStats{
		Logins:          c.stats.logins.Load(),
		LoginsRejected:  c.stats.loginsRejected.Load(),
		UsersCreated:    c.stats.usersCreated.Load(),
		PreflightsOK:    c.stats.preflightsOK.Load(),
		CORSDenied:      c.stats.corsDenied.Load(),
		CSRFTokensSent:  c.stats.csrfTokensSent.Load(),
		SessionsEnded:   c.stats.sessionsEnded.Load(),
		HubPagesServed:  c.stats.hubPages.Load(),
		LoginRedirects:  c.stats.loginRedirects.Load(),
		ReplaysRejected: c.stats.replays.Load(),
	}
}

// Close stops the server, closes every connection and waits for running
// handlers to return.
func (c *Cloud) Close() { c.life.close() }

// serve routes a request. CORS is decided first because it applies to
// every endpoint a browser script may call.
func (c *Cloud) serve(w http.ResponseWriter, r *http.Request) {
	if !c.cors(w, r) {
		return
	}
	switch p := r.URL.Path; {
	case p == "/login/jwt-session":
		c.serveJWTSession(w, r)
	case p == "/api/v1/csrf-token":
		c.serveCSRFToken(w, r)
	case p == "/logout":
		c.serveLogout(w, r)
	case p == "/login":
		c.serveInteractiveLogin(w, r)
	case p == "/login/callback":
		c.serveOIDCCallback(w, r)
	case p == "/oauth/token":
		c.serveOAuthToken(w, r)
	case p == "/api/v1/users":
		c.serveUsers(w, r)
	case p == "/api/v1/users/me":
		c.serveUsersMe(w, r)
	case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/login/"):
		c.logf("%s %s: 404: not simulated", r.Method, p)
		writeCloudError(w, http.StatusNotFound, "Not Found", "not simulated", "HTTP-404")
	default:
		c.serveHub(w, r)
	}
}

// logf logs through the lifecycle, which goes quiet after Close.
func (c *Cloud) logf(format string, args ...any) { c.life.printf(format, args...) }
