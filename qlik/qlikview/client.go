package qlikview

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/go-ntlmssp"

	"github.com/qlikgate/qlikgate/check"
)

// webTicketClient calls GetWebTicket.aspx. One per target, built once, so
// that connections (and, with NTLM, their authentication) are reused.
type webTicketClient struct {
	http    *http.Client
	url     string
	timeout time.Duration
	ntlm    *NTLMConfig
	// ntlmTurn serialises calls when NTLM is on. NTLM authenticates a
	// connection, not a request: two handshakes interleaved on a shared
	// pool would answer each other's challenges and both fail. One call
	// at a time reuses the kept-alive connection the server already
	// authenticated (the pool hands out the most recently used one
	// first), which costs little at login rates.
	ntlmTurn chan struct{}
}

func newWebTicketClient(cfg *Config) (*webTicketClient, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := caPool(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		tlsConf.RootCAs = pool
	}
	tr := &http.Transport{
		// No HTTP proxy: the web server trusts the caller's own address,
		// which a proxy would replace.
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	c := &webTicketClient{url: cfg.WebTicketURL, timeout: cfg.Timeout, ntlm: cfg.NTLM}
	var rt http.RoundTripper = tr
	if cfg.NTLM != nil {
		// No MaxConnsPerHost limit: the Negotiator holds the first 401
		// open while it runs the handshake on a second connection.
		// IIS does no Windows authentication over HTTP/2.
		tr.ForceAttemptHTTP2 = false
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		// The Negotiator never sends the password: only NTLM messages,
		// and only after the server asked (AllowBasicAuth stays false).
		rt = ntlmssp.Negotiator{RoundTripper: tr}
		c.ntlmTurn = make(chan struct{}, 1)
	}
	c.http = &http.Client{
		Transport: rt,
		Timeout:   cfg.Timeout,
		// GetWebTicket never redirects; a redirect means a login page or a
		// wrong URL, and following it could carry credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// caPool is the system roots plus the PEM certificates in path.
func caPool(path string) (*x509.CertPool, error) {
	certs, err := check.ReadCerts(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// StatusError is a non-2xx answer from GetWebTicket.aspx. Body is the
// start of the answer, for the log; error answers carry no ticket.
type StatusError struct {
	Status int
	Body   string
	Hint   string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GetWebTicket: HTTP %d", e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// getTicket posts the request body and returns the ticket.
func (c *webTicketClient) getTicket(ctx context.Context, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.ntlmTurn != nil {
		select {
		case c.ntlmTurn <- struct{}{}:
			defer func() { <-c.ntlmTurn }()
		case <-ctx.Done():
			return "", fmt.Errorf("GetWebTicket: waiting for the NTLM connection: %w", ctx.Err())
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("GetWebTicket: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if c.ntlm != nil {
		req.SetBasicAuth(c.ntlm.account(), c.ntlm.Password) // turned into NTLM by the Negotiator
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the URL; ours is in the message already.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("GetWebTicket %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("GetWebTicket %s: reading the answer: %w", c.url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", &StatusError{Status: resp.StatusCode, Body: snippet(data), Hint: c.hint(resp)}
	}
	tk, err := parseWebTicketResponse(data)
	if err != nil {
		return "", fmt.Errorf("GetWebTicket %s: %w", c.url, err)
	}
	return tk, nil
}

// hint explains the answers that have a usual cause.
func (c *webTicketClient) hint(resp *http.Response) string {
	switch {
	case resp.StatusCode == http.StatusUnauthorized && c.ntlm != nil:
		return fmt.Sprintf("Windows login as %s failed: check ntlm.username, ntlm.password and ntlm.domain", c.ntlm.account())
	case resp.StatusCode == http.StatusUnauthorized:
		return "the web server wants Windows authentication: configure ntlm, or trust the module's IP address in config.xml"
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return "redirected to " + resp.Header.Get("Location") + ": is webticket_url right?"
	}
	return ""
}

// snippet keeps the start of an error body for the log, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
