package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// naiveTicketTarget requests Qlik Sense tickets the way many public
// authentication modules do: a new HTTPS client per ticket (Node's https
// module without a keep-alive agent, PHP's curl_init per call, a new
// HttpClientHandler in .NET), so every ticket costs a TCP connection and a
// full mutual-TLS handshake with the QPS. The certificates are read once, at
// start, as those modules do.
//
// Everything else is qlikgate's: entries are validated by the real
// sense.TicketTarget (embedded), and the request and answer are the same
// JSON; only the connection handling differs.
type naiveTicketTarget struct {
	qlik.Target // the real target: ID, ParseEntry, Logout
	tls         *tls.Config
	proxyRest   string // the configured proxy_rest_uri
	hubURL      string
	timeout     time.Duration
}

func newNaiveTicketTarget(real qlik.Target, files qliksim.Files, proxyRestURI, hubURL string) (*naiveTicketTarget, error) {
	cert, err := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("naive target: client certificate: %w", err)
	}
	rootPEM, err := os.ReadFile(files.Root)
	if err != nil {
		return nil, fmt.Errorf("naive target: root CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		return nil, fmt.Errorf("naive target: no certificate in %s", files.Root)
	}
	return &naiveTicketTarget{
		Target:    real,
		tls:       &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12},
		proxyRest: proxyRestURI,
		hubURL:    hubURL,
		timeout:   10 * time.Second,
	}, nil
}

// Login requests a ticket over a connection of its own and redirects to
// the TargetUri, or the hub.
func (t *naiveTicketTarget) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	base := e.ProxyRestURI // already allowlisted by ParseEntry
	if base == "" {
		base = t.proxyRest
	}
	body, err := ticketBody(u, e)
	if err != nil {
		return qlik.Handoff{}, err
	}
	xrfkey := rand.Text()[:16]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"ticket?xrfkey="+xrfkey, bytes.NewReader(body))
	if err != nil {
		return qlik.Handoff{}, err
	}
	req.Header.Set("X-Qlik-Xrfkey", xrfkey)
	req.Header.Set("Content-Type", "application/json")

	tr := &http.Transport{TLSClientConfig: t.tls, DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: t.timeout}).Do(req)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("naive ticket: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("naive ticket: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return qlik.Handoff{}, fmt.Errorf("naive ticket: HTTP %d", resp.StatusCode)
	}
	var res struct{ Ticket, TargetUri string }
	if err := json.Unmarshal(data, &res); err != nil || res.Ticket == "" {
		return qlik.Handoff{}, fmt.Errorf("naive ticket: no ticket in the answer (%v)", err)
	}
	dest := t.hubURL
	if e.TargetID != "" && res.TargetUri != "" {
		dest = res.TargetUri
	}
	d, err := url.Parse(dest)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("naive ticket: TargetUri: %w", err)
	}
	q := d.Query()
	q.Set("qlikTicket", res.Ticket)
	d.RawQuery = q.Encode()
	return qlik.Handoff{Redirect: d.String()}, nil
}

// ticketBody is the POST ticket body qlikgate's target sends too: groups as
// Group attributes, then the identity's attributes.
func ticketBody(u qlik.User, e qlik.Entry) ([]byte, error) {
	attrs := make([]map[string]string, 0, len(u.Groups))
	for _, g := range u.Groups {
		attrs = append(attrs, map[string]string{"Group": g})
	}
	for _, k := range slices.Sorted(maps.Keys(u.Attributes)) {
		for _, v := range u.Attributes[k] {
			attrs = append(attrs, map[string]string{k: v})
		}
	}
	return json.Marshal(map[string]any{
		"UserDirectory": u.Directory, "UserId": u.UserID, "Attributes": attrs, "TargetId": e.TargetID,
	})
}
