package qliksim

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// SenseOptions configures a simulated Qlik Sense virtual proxy.
type SenseOptions struct {
	// Prefix is the virtual proxy prefix, e.g. "hr"; "" is the default
	// virtual proxy. Qlik only allows lower-case unreserved characters.
	Prefix string
	// ModuleURL is the virtual proxy's "Authentication module redirect
	// URI"; it can also be set later with SetModuleURL.
	ModuleURL string
	// HubTLS serves the browser-facing proxy over HTTPS with a server
	// certificate from the site CA; by default it is plain HTTP.
	HubTLS bool
	// HubAddr is the listen address of the browser-facing proxy, default
	// "127.0.0.1:0".
	HubAddr string
	// QPSAddr is the listen address of the QPS REST API, default
	// "127.0.0.1:0".
	QPSAddr string
	// ServerNames are the DNS names of the server certificate. Empty means
	// "localhost" plus the loopback IP addresses; otherwise the certificate
	// holds only these names and no IP address, emulating a node
	// certificate issued for the short hostname (e.g. "qlikserver1"), so a
	// client dialling 127.0.0.1 must set the expected server name. Ignored
	// when PKI is set.
	ServerNames []string
	// PKI is the site's certificate set; nil generates one with NewPKI
	// (ServerNames). Passing one lets tests share a PKI or use NewPKIRSA.
	PKI *PKI
	// TicketTTL is how long a ticket stays valid, default 60s as in Qlik.
	TicketTTL time.Duration
	// Now is the clock for ticket, targetId and session expiry, default
	// time.Now; tests pass a fake clock. TLS certificate checks always use
	// the real time.
	Now func() time.Time
	// Logf, when set, receives every rejection with its reason (e.g. t.Logf).
	Logf func(format string, args ...any)
}

// SenseStats counts what the simulator saw.
type SenseStats struct {
	TicketsIssued   int64 // POST ticket answered 201
	TicketsConsumed int64 // tickets swapped for a session by the proxy
	TicketsRejected int64 // unknown, reused or expired tickets presented to the proxy
	SessionsCreated int64 // proxy sessions created from a ticket or by POST session
	TLSHandshakes   int64 // successful TLS handshakes on the QPS port (one per connection)
	QPSRequests     int64 // HTTP requests that reached the QPS API
}

// Sense is a running simulated Qlik Sense virtual proxy: the browser-facing
// proxy ("hub") and the QPS REST API behind mutual TLS. It is safe for
// concurrent use.
type Sense struct {
	opts         SenseOptions // normalised: every default filled in
	pki          *PKI
	hubBase      string // "/hr/" or "/"
	qpsBase      string // "/qps/hr/" or "/qps/"
	hubURL       string
	proxyRestURI string
	cookieName   string

	life lifecycle

	mu        sync.Mutex
	moduleURL string
	st        state
	failing   bool // SetFailing: the QPS answers 503

	stats struct {
		ticketsIssued, ticketsConsumed, ticketsRejected atomic.Int64
		sessionsCreated, tlsHandshakes, qpsRequests     atomic.Int64
	}
}

var prefixPattern = regexp.MustCompile(`^[a-z0-9._~-]+$`)

// NewSense generates a PKI (unless one is given) and starts both listeners.
// Call Close when done.
func NewSense(opts SenseOptions) (*Sense, error) {
	if opts.Prefix != "" && !prefixPattern.MatchString(opts.Prefix) {
		return nil, fmt.Errorf("qliksim: prefix %q: use lower-case letters, digits and -._~ only", opts.Prefix)
	}
	if opts.HubAddr == "" {
		opts.HubAddr = "127.0.0.1:0"
	}
	if opts.QPSAddr == "" {
		opts.QPSAddr = "127.0.0.1:0"
	}
	if opts.TicketTTL <= 0 {
		opts.TicketTTL = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pki := opts.PKI
	if pki == nil {
		var err error
		if pki, err = NewPKI(opts.ServerNames); err != nil {
			return nil, fmt.Errorf("qliksim: %w", err)
		}
	}
	s := &Sense{
		opts:       opts,
		pki:        pki,
		hubBase:    "/",
		qpsBase:    "/qps/",
		cookieName: "X-Qlik-Session",
		moduleURL:  opts.ModuleURL,
		st:         newState(),
		life:       lifecycle{prefix: "qliksim: ", logf: opts.Logf},
	}
	if opts.Prefix != "" {
		s.hubBase = "/" + opts.Prefix + "/"
		s.qpsBase = "/qps/" + opts.Prefix + "/"
		s.cookieName += "-" + opts.Prefix
	}
	if !opts.HubTLS {
		// Since 2019 the proxy appends -HTTP on plain HTTP (contract §1.8).
		s.cookieName += "-HTTP"
	}

	hubLn, err := net.Listen("tcp", opts.HubAddr)
	if err != nil {
		return nil, fmt.Errorf("qliksim: listen hub on %s: %w", opts.HubAddr, err)
	}
	qpsLn, err := net.Listen("tcp", opts.QPSAddr)
	if err != nil {
		_ = hubLn.Close()
		return nil, fmt.Errorf("qliksim: listen QPS on %s: %w", opts.QPSAddr, err)
	}
	scheme := "http"
	if opts.HubTLS {
		scheme = "https"
	}
	s.hubURL = scheme + "://" + dialAddr(hubLn.Addr()) + s.hubBase + "hub/"
	s.proxyRestURI = "https://" + dialAddr(qpsLn.Addr()) + s.qpsBase

	hubSrv := &http.Server{
		Handler:           s.life.track(http.HandlerFunc(s.serveHub)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          s.life.errorLog(),
	}
	if opts.HubTLS {
		hubSrv.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{pki.server},
			MinVersion:   tls.VersionTLS12,
		}
	}
	s.life.serve("hub", hubSrv, hubLn)
	s.life.serve("QPS", &http.Server{
		Handler:           s.life.track(http.HandlerFunc(s.serveQPS)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          s.life.errorLog(),
		TLSConfig:         s.qpsTLSConfig(),
	}, qpsLn)
	s.logf("Sense virtual proxy %q: hub %s, QPS %s, cookie %s", opts.Prefix, s.hubURL, s.proxyRestURI, s.cookieName)
	return s, nil
}

// qpsTLSConfig demands a client certificate from the site CA, as the real
// QPS does on port 4243: a missing, foreign or expired certificate fails
// the handshake.
func (s *Sense) qpsTLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.pki.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    s.pki.CertPool(),
		MinVersion:   tls.VersionTLS12,
		// Without session resumption every connection is a full handshake
		// that re-verifies the client certificate, so TLSHandshakes counts
		// connections exactly and proves (or disproves) keep-alive reuse.
		SessionTicketsDisabled: true,
		// VerifyConnection runs once per handshake, after the client
		// certificate passed verification, so failed handshakes don't count.
		VerifyConnection: func(tls.ConnectionState) error {
			s.stats.tlsHandshakes.Add(1)
			return nil
		},
	}
}

// Close stops both servers, closes every connection and waits for running
// handlers to return.
func (s *Sense) Close() { s.life.close() }

// HubURL is the hub's address, e.g. "http://127.0.0.1:PORT/hr/hub/".
func (s *Sense) HubURL() string { return s.hubURL }

// ProxyRestURI is the QPS base URL exactly as the proxy sends it in
// proxyRestUri, e.g. "https://127.0.0.1:PORT/qps/hr/" (trailing slash).
func (s *Sense) ProxyRestURI() string { return s.proxyRestURI }

// SetModuleURL sets the authentication module redirect URI that anonymous
// browsers are sent to.
func (s *Sense) SetModuleURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.moduleURL = u
}

// SetFailing makes the QPS answer every call with 503 (a node that is up
// but unwell) until it is called with false.
func (s *Sense) SetFailing(failing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = failing
}

// CookieName is the session cookie's name: "X-Qlik-Session-<prefix>" (or
// "X-Qlik-Session" for the default virtual proxy), with "-HTTP" appended
// when the hub is plain HTTP.
func (s *Sense) CookieName() string { return s.cookieName }

// PKI returns the site's certificates.
func (s *Sense) PKI() *PKI { return s.pki }

// Stats returns a snapshot of the counters.
func (s *Sense) Stats() SenseStats {
	return SenseStats{
		TicketsIssued:   s.stats.ticketsIssued.Load(),
		TicketsConsumed: s.stats.ticketsConsumed.Load(),
		TicketsRejected: s.stats.ticketsRejected.Load(),
		SessionsCreated: s.stats.sessionsCreated.Load(),
		TLSHandshakes:   s.stats.tlsHandshakes.Load(),
		QPSRequests:     s.stats.qpsRequests.Load(),
	}
}

// Session looks up a live proxy session by id.
func (s *Sense) Session(id string) (SessionData, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sd, ok := s.st.sessions[id]
	if !ok {
		return SessionData{}, false
	}
	return copySession(sd), true
}

// logf logs through the lifecycle, which goes quiet after Close.
func (s *Sense) logf(format string, args ...any) { s.life.printf(format, args...) }

// dialAddr turns a listener address into one a client can dial: a wildcard
// listen address becomes loopback.
func dialAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}
