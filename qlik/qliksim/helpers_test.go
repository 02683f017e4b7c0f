package qliksim

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is a valid xrfkey.
const testKey = "abcdefghij012345"

const testModule = "https://module.example/t/sense/entry"

var (
	guidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	ticketRE = regexp.MustCompile(`^[0-9a-zA-Z]{16}$`)
)

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logRecorder keeps the simulator's log lines for assertions and passes
// them on to the test log.
type logRecorder struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	l.lines = append(l.lines, line)
	l.t.Log(line)
}

// waitFor reports whether a line holding every one of parts is logged
// within five seconds: the server logs a failed handshake on its own
// goroutine, possibly after the client has seen the failure.
func (l *logRecorder) waitFor(parts ...string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if l.contains(parts...) {
			return true
		}
	}
	return false
}

func (l *logRecorder) contains(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// rsaPKI is generated once: RSA key generation is slow under -race.
var rsaPKI = sync.OnceValues(func() (*PKI, error) { return NewPKIRSA(nil) })

// newSense starts a simulator on a fake clock, logging to t and closed at
// the end of the test. Prefix "hr" and testModule are the defaults; use
// newSenseOpts for other settings.
func newSense(t *testing.T) (*Sense, *fakeClock) {
	t.Helper()
	return newSenseOpts(t, SenseOptions{Prefix: "hr", ModuleURL: testModule})
}

func newSenseOpts(t *testing.T, opts SenseOptions) (*Sense, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now = clock.Now
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s, err := NewSense(opts)
	if err != nil {
		t.Fatalf("NewSense: %v", err)
	}
	t.Cleanup(s.Close)
	return s, clock
}

// qpsClient returns an mTLS client presenting the site's client certificate.
func qpsClient(t *testing.T, s *Sense) *http.Client {
	t.Helper()
	return clientWith(t, s.PKI().ClientTLSConfig(""))
}

func clientWith(t *testing.T, cfg *tls.Config) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// browser is a hub client that does not follow redirects, so tests can
// inspect the proxy's 302 to the module.
func browser(t *testing.T, s *Sense) *http.Client {
	t.Helper()
	c := clientWith(t, &tls.Config{RootCAs: s.PKI().CertPool(), MinVersion: tls.VersionTLS12})
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request and reads the whole response.
func do(t *testing.T, c *http.Client, method, u, body string, header http.Header) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatalf("NewRequest %s %s: %v", method, u, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, u, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// qps calls the QPS API at path (relative to ProxyRestURI) with a valid
// xrfkey and, for a body, Content-Type application/json.
func qps(t *testing.T, s *Sense, c *http.Client, method, path, body string) response {
	t.Helper()
	h := http.Header{"X-Qlik-Xrfkey": {testKey}}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return do(t, c, method, s.ProxyRestURI()+path+"?xrfkey="+testKey, body, h)
}

// issueTicket posts a ticket request that must succeed and returns the reply.
func issueTicket(t *testing.T, s *Sense, c *http.Client, body string) ticketResponse {
	t.Helper()
	r := qps(t, s, c, http.MethodPost, "ticket", body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST ticket: status %d, body %q", r.status, r.body)
	}
	var tr ticketResponse
	if err := json.Unmarshal([]byte(r.body), &tr); err != nil {
		t.Fatalf("decode ticket reply %q: %v", r.body, err)
	}
	return tr
}

// moduleRedirect requests u anonymously, requires a 302 to testModule and
// returns the redirect's raw query and its targetId.
func moduleRedirect(t *testing.T, s *Sense, c *http.Client, u string) (rawQuery, targetID string) {
	t.Helper()
	r := do(t, c, http.MethodGet, u, "", nil)
	return expectModuleRedirect(t, r)
}

func expectModuleRedirect(t *testing.T, r response) (rawQuery, targetID string) {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("status %d, want 302 to the module; body %q", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", r.header.Get("Location"), err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testModule {
		t.Fatalf("redirect to %q, want %q", got, testModule)
	}
	return loc.RawQuery, loc.Query().Get("targetId")
}

// withTicket returns u with the ticket added under param.
func withTicket(t *testing.T, u, param, tk string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("parse %q: %v", u, err)
	}
	q := pu.Query()
	q.Set(param, tk)
	pu.RawQuery = q.Encode()
	return pu.String()
}

// sessionCookie returns the value of the session cookie set by r.
func sessionCookieOf(t *testing.T, s *Sense, r response) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == s.CookieName() {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", s.CookieName(), r.header.Values("Set-Cookie"))
	return nil
}

func cookieHeader(s *Sense, id string) http.Header {
	return http.Header{"Cookie": {s.CookieName() + "=" + id}}
}
