package sense

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// qpsClient calls the QPS REST API over mutual TLS. One client (and so one
// connection pool) per target: reusing TLS connections is what makes a
// hand-off cheap.
type qpsClient struct {
	http *http.Client
}

func newQPSClient(tlsConf *tls.Config, timeout time.Duration) *qpsClient {
	tr := &http.Transport{
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		Proxy:                 nil, // the client certificate must never go through an HTTP proxy
	}
	return &qpsClient{http: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// The QPS never redirects; following one would send the client
		// certificate somewhere unexpected.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// StatusError is a non-2xx answer from the QPS. Body is the start of Qlik's
// plain-text reason; it never contains tickets.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("qps: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// newXrfkey returns a fresh xrfkey: 16 characters from [A-Z2-7] (base32
// from crypto/rand, inside the [0-9a-zA-Z] set Qlik allows), 80 random bits.
func newXrfkey() string { return rand.Text()[:16] }

// do sends a JSON request to base+path and decodes a JSON answer into out.
func (c *qpsClient) do(ctx context.Context, method, base, path string, in, out any) error {
	shown := redactPath(path)
	u, err := url.Parse(base + path)
	if err != nil {
		return fmt.Errorf("qps: %s %s: %w", method, shown, err)
	}
	key := newXrfkey()
	q := u.Query()
	q.Set("xrfkey", key)
	u.RawQuery = q.Encode()

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("qps: encode %s: %w", shown, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("qps: %s %s: %w", method, shown, err)
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the whole URL; the host and path are enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("qps: %s %s://%s%s%s: %w", method, u.Scheme, u.Host, strings.TrimSuffix(u.Path, path), shown, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("qps: %s %s: reading answer: %w", method, shown, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Method: method, Path: shown, Status: resp.StatusCode, Body: snippet(data)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("qps: %s %s: answer is not the expected JSON: %w", method, shown, err)
		}
	}
	return nil
}

// redactPath hides a session id in a QPS path: errors are logged, and a
// SessionId is the user's Qlik session cookie.
func redactPath(path string) string {
	if strings.HasPrefix(path, "session/") {
		return "session/{id}"
	}
	return path
}

// snippet keeps the first line-ish of an error body for logs.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// isStatus reports whether err is a QPS answer with the given status.
func isStatus(err error, status int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == status
}

// attribute is one single-key Qlik attribute object: {"Group": "Sales"}.
type attribute map[string]string

// ticketRequest is the body of POST ticket. Field names are PascalCase as in
// Qlik's documentation.
type ticketRequest struct {
	UserDirectory string      `json:"UserDirectory"`
	UserId        string      `json:"UserId"` //nolint:revive // Qlik's spelling
	Attributes    []attribute `json:"Attributes"`
	TargetId      string      `json:"TargetId,omitempty"` //nolint:revive // Qlik's spelling
}

type ticketResponse struct {
	Ticket    string `json:"Ticket"`
	TargetUri string `json:"TargetUri"` //nolint:revive // Qlik's spelling
}
