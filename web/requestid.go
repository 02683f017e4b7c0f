package web

import (
	"fmt"
	"net"
	"regexp"

	"github.com/labstack/echo/v4"
)

// requestIDPattern is the shape of a request id qlikgate takes from a
// proxy: up to 64 letters, digits, dots, dashes and underscores. That
// covers UUIDs, nginx's $request_id, Envoy's and IIS ARR's ids, and
// nothing that could pass for a second key=value in a log line or a
// different reference on a page.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDs gives every request an id: the one a trusted proxy sent in
// X-Request-Id, so that its log and qlikgate's match, or a new random one.
// Only the TCP peer counts as the sender, never X-Forwarded-For, which any
// client can write: a browser talking to qlikgate directly cannot choose
// the reference its error page shows or the request_id its lines carry.
func requestIDs(trusted []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if id == "" || !requestIDPattern.MatchString(id) || !peerIn(c.Request().RemoteAddr, trusted) {
				id = randomID()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

// peerIn reports whether the TCP peer (an http.Request's RemoteAddr) is in
// one of the networks.
func peerIn(remoteAddr string, nets []*net.IPNet) bool {
	if len(nets) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// parseNets parses server.trusted_proxies.
func parseNets(cidrs []string) ([]*net.IPNet, error) {
	out := make([]*net.IPNet, 0, len(cidrs))
	for i, c := range cidrs {
		n, err := parseNet(c)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies[%d]: %w", i, err)
		}
		out = append(out, n)
	}
	return out, nil
}
