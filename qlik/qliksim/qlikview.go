package qliksim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// QlikViewOptions configures a simulated QlikView web server (QVWS or IIS
// with AccessPoint), contract §2.
type QlikViewOptions struct {
	// Addr is the listen address, default "127.0.0.1:0".
	Addr string
	// TLS serves HTTPS with a server certificate from PKI; by default the
	// server is plain HTTP, as most QlikView web servers are.
	TLS bool
	// PKI supplies the server certificate when TLS is set; nil generates
	// one with NewPKI(ServerNames).
	PKI *PKI
	// ServerNames are the DNS names of a generated server certificate, as
	// in SenseOptions.
	ServerNames []string

	// TrustedIPs are the addresses allowed to call GetWebTicket.aspx, the
	// <TrustedIP> entries of config.xml. They are compared as addresses,
	// one by one, exactly like the real server: "::1" does not trust
	// 127.0.0.1. Default: none.
	TrustedIPs []string
	// Credentials, when set, make GetWebTicket.aspx accept callers from
	// other addresses that authenticate with NTLM as this Windows account
	// (standing in for a member of "QlikView Administrators").
	Credentials *NTLMCredentials
	// SafeForwardHosts extend the SafeForwardList: hosts ("host" or
	// "host:port") that Authenticate.aspx may send the browser to with
	// try and back, besides relative paths and the server's own host.
	SafeForwardHosts []string
	// LoginURL is the custom login page AccessPoint sends anonymous
	// browsers to (the module). It can be set later with SetLoginURL.
	LoginURL string

	// TicketTTL is how long a web ticket stays valid, default 60s. The
	// real lifetime is undocumented (contract §6); a minute is what Qlik
	// documents for Sense tickets, and a module redirects at once, so a
	// client that stalls should fail here rather than in production.
	TicketTTL time.Duration
	// Now is the clock for ticket expiry, default time.Now.
	Now func() time.Time
	// Logf, when set, receives every rejection with its reason.
	Logf func(format string, args ...any)
}

// NTLMCredentials is a Windows account the simulator accepts through NTLM.
type NTLMCredentials struct {
	Domain   string // NetBIOS domain, e.g. "CORP"; "" accepts any domain
	Username string // e.g. "svc-qlikgate"
	Password string
}

// QlikViewStats counts what the simulator saw.
type QlikViewStats struct {
	TicketsIssued   int64 // GetWebTicket answered with a ticket
	InvalidCalls    int64 // GetWebTicket answered "Invalid call"
	TicketsConsumed int64 // tickets swapped for a session by Authenticate.aspx
	TicketsRejected int64 // unknown, reused or expired tickets sent to back
	NTLMLogins      int64 // NTLM handshakes that authenticated the caller
	NTLMFailures    int64 // NTLM authenticate messages refused
	Logouts         int64 // sessions ended by the AccessPoint logout
}

// QlikViewSession is a browser session on the simulated AccessPoint.
type QlikViewSession struct {
	UserID         string
	Groups         []string
	GroupsAreNames bool
}

// QlikViewCookieName is the simulator's session cookie. The real cookie
// names are not part of the contract: a module never reads or sets them.
const QlikViewCookieName = "qliksim-qv-session"

// QlikView is a running simulated QlikView web server: GetWebTicket.aspx,
// Authenticate.aspx, the AccessPoint portal and its logout. It is safe for
// concurrent use.
type QlikView struct {
	opts QlikViewOptions // normalised
	pki  *PKI
	url  string // "http://127.0.0.1:PORT"
	host string // "127.0.0.1:PORT"

	life lifecycle

	mu          sync.Mutex
	loginURL    string
	trusted     []netip.Addr
	safeForward []string // lower-case hosts, with or without port
	tickets     map[string]*qvTicket
	sessions    map[string]QlikViewSession // by cookie value

	stats struct {
		issued, invalid, consumed, rejected atomic.Int64
		ntlmOK, ntlmFail, logouts           atomic.Int64
	}
}

// qvTicket is an issued web ticket. Used tickets are kept until they expire
// so that a replay is logged as such.
type qvTicket struct {
	session QlikViewSession
	expires time.Time
	used    bool
}

// NewQlikView starts a simulated QlikView web server. Call Close when done.
func NewQlikView(opts QlikViewOptions) (*QlikView, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.TicketTTL <= 0 {
		opts.TicketTTL = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if c := opts.Credentials; c != nil {
		if c.Username == "" || c.Password == "" {
			return nil, errors.New("qliksim: QlikView credentials need a username and a password")
		}
		copied := *c // the caller's struct may change later
		opts.Credentials = &copied
	}
	trusted, err := parseTrustedIPs(opts.TrustedIPs)
	if err != nil {
		return nil, err
	}
	q := &QlikView{
		opts:        opts,
		loginURL:    opts.LoginURL,
		trusted:     trusted,
		safeForward: lowerAll(opts.SafeForwardHosts),
		tickets:     map[string]*qvTicket{},
		sessions:    map[string]QlikViewSession{},
		life:        lifecycle{prefix: "qliksim: ", logf: opts.Logf},
	}
	if opts.TLS {
		q.pki = opts.PKI
		if q.pki == nil {
			if q.pki, err = NewPKI(opts.ServerNames); err != nil {
				return nil, fmt.Errorf("qliksim: %w", err)
			}
		}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("qliksim: listen QlikView on %s: %w", opts.Addr, err)
	}
	q.host = dialAddr(ln.Addr())
	q.url = "http://" + q.host
	if opts.TLS {
		q.url = "https://" + q.host
	}
	srv := &http.Server{
		Handler:           q.life.track(http.HandlerFunc(q.serve)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          q.life.errorLog(),
		// NTLM authenticates a connection, not a request: each connection
		// carries its own handshake state.
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, qvConnKey{}, &qvConn{})
		},
		// IIS does not do Windows authentication over HTTP/2 either.
		Protocols: http1Only(),
	}
	if opts.TLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{q.pki.server}, MinVersion: tls.VersionTLS12}
	}
	q.life.serve("QlikView", srv, ln)
	q.logf("QlikView web server %s (trusted IPs %v, NTLM %v)", q.url, opts.TrustedIPs, opts.Credentials != nil)
	return q, nil
}

func http1Only() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	return p
}

func parseTrustedIPs(ips []string) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, len(ips))
	for _, s := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("qliksim: trusted IP %q: %w", s, err)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

func lowerAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToLower(v)
	}
	return out
}

// URL is the server's base address, e.g. "http://127.0.0.1:PORT".
func (q *QlikView) URL() string { return q.url }

// WebTicketURL is the GetWebTicket.aspx address.
func (q *QlikView) WebTicketURL() string { return q.url + "/QvAJAXZfc/GetWebTicket.aspx" }

// AuthenticateURL is the Authenticate.aspx address.
func (q *QlikView) AuthenticateURL() string { return q.url + "/QvAJAXZfc/Authenticate.aspx" }

// AccessPointURL is the AccessPoint portal, "…/QlikView/".
func (q *QlikView) AccessPointURL() string { return q.url + "/QlikView/" }

// LogoutPageURL is the sign-out page the README asks QlikView
// administrators to install next to AccessPoint: its script posts the
// AccessPoint logout, then goes to the page's ?next= parameter if that
// passes the SafeForwardList (else to AccessPoint).
func (q *QlikView) LogoutPageURL() string { return q.url + "/QvAJAXZfc/qlikgate-logout.htm" }

// PKI returns the certificates of an HTTPS server, nil for plain HTTP.
func (q *QlikView) PKI() *PKI { return q.pki }

// SetTrustedIPs replaces the GetWebTicket IP allow list.
func (q *QlikView) SetTrustedIPs(ips []string) error {
	trusted, err := parseTrustedIPs(ips)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.trusted = trusted
	return nil
}

// SetSafeForwardHosts replaces the extra SafeForwardList hosts.
func (q *QlikView) SetSafeForwardHosts(hosts []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.safeForward = lowerAll(hosts)
}

// SetLoginURL sets the custom login page anonymous browsers are sent to.
func (q *QlikView) SetLoginURL(u string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loginURL = u
}

// Sessions returns the live AccessPoint sessions, in no particular order.
func (q *QlikView) Sessions() []QlikViewSession {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]QlikViewSession, 0, len(q.sessions))
	for _, s := range q.sessions {
		out = append(out, copyQVSession(s))
	}
	return out
}

// ExpireSessions ends every AccessPoint session, as a session timeout on
// the real server would: browsers are sent to the login page again.
func (q *QlikView) ExpireSessions() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.sessions)
}

// Stats returns a snapshot of the counters.
func (q *QlikView) Stats() QlikViewStats {
	return QlikViewStats{
		TicketsIssued:   q.stats.issued.Load(),
		InvalidCalls:    q.stats.invalid.Load(),
		TicketsConsumed: q.stats.consumed.Load(),
		TicketsRejected: q.stats.rejected.Load(),
		NTLMLogins:      q.stats.ntlmOK.Load(),
		NTLMFailures:    q.stats.ntlmFail.Load(),
		Logouts:         q.stats.logouts.Load(),
	}
}

// Close stops the server, closes every connection and waits for running
// handlers to return.
func (q *QlikView) Close() { q.life.close() }

// serve routes by path. IIS matches paths without regard to case, and
// clients in the field spell QvAJAXZfc three ways, so routing does too.
func (q *QlikView) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	switch {
	case p == "/qvajaxzfc/getwebticket.aspx":
		q.serveGetWebTicket(w, r)
	case p == "/qvajaxzfc/authenticate.aspx":
		q.serveAuthenticate(w, r)
	case p == "/qvajaxzfc/accesspoint.aspx":
		q.serveAccessPointCall(w, r)
	case p == "/qvajaxzfc/qlikgate-logout.htm":
		q.serveLogoutPage(w, r)
	case p == "/qlikview":
		w.Header().Set("Location", r.URL.Path+"/")
		w.WriteHeader(http.StatusMovedPermanently)
	case strings.HasPrefix(p, "/qlikview/"):
		q.serveAccessPoint(w, r)
	default:
		q.logf("QlikView: %s %s: 404", r.Method, r.URL.Path)
		plainError(w, http.StatusNotFound, "Not Found")
	}
}

// logf logs through the lifecycle, which goes quiet after Close.
func (q *QlikView) logf(format string, args ...any) { q.life.printf(format, args...) }

func copyQVSession(s QlikViewSession) QlikViewSession {
	s.Groups = append([]string(nil), s.Groups...)
	return s
}
