package sense

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

func TestNodeFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("qps: POST x: %w", syscall.ECONNREFUSED), true},
		{"5xx", &StatusError{Status: http.StatusServiceUnavailable}, true},
		{"stale targetId", &StatusError{Status: http.StatusBadRequest}, false},
		{"certificate refused", &StatusError{Status: http.StatusForbidden}, false},
		{"login gave up", context.Canceled, false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nodeFailure(tt.err); got != tt.want {
				t.Errorf("nodeFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestSessionLimitVariants: Qlik documents the text users see, not the
// session API's status, so every reasonable form of the refusal counts.
func TestSessionLimitVariants(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Qlik's text on 403", &StatusError{Status: 403, Body: "You cannot access Qlik Sense because you have too many sessions active in parallel."}, true},
		{"lower case on 400", &StatusError{Status: 400, Body: "too many sessions"}, true},
		{"QRS reason", &StatusError{Status: 409, Body: "UsageDenied: SessionCount"}, true},
		{"429 without body", &StatusError{Status: 429}, true},
		{"XSRF", &StatusError{Status: 403, Body: "XSRF prevention check failed. Possible XSRF discovered."}, false},
		{"transport", errors.New("connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(sessionLimit(tt.err), qlik.ErrSessionLimit); got != tt.want {
				t.Errorf("sessionLimit(%v) is ErrSessionLimit = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestPoolOrder: a node in back-off comes after the healthy ones, and an
// allowed_proxy_rest_uris entry never takes part in failover.
func TestPoolOrder(t *testing.T) {
	cfg := validConfig()
	cfg.ProxyRestURI = ""
	cfg.Nodes = []string{"https://a:4243/qps/hr/", "https://b:4243/qps/hr/", "https://c:4243/qps/hr/"}
	cfg.AllowedProxyRestURIs = []string{"https://d:4243/qps/hr/"}
	now := time.Unix(1000, 0)
	s := &site{cfg: *cfg, nodes: newNodes(cfg), now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler)}
	bases := func() []string {
		var out []string
		for _, n := range s.pool() {
			out = append(out, n.base)
		}
		return out
	}
	if got := fmt.Sprint(bases()); got != "[https://a:4243/qps/hr/ https://b:4243/qps/hr/ https://c:4243/qps/hr/]" {
		t.Fatalf("pool = %s", got)
	}
	s.nodes[0].record(syscall.ECONNREFUSED, now, cfg.NodeBackoff)
	if got := fmt.Sprint(bases()); got != "[https://b:4243/qps/hr/ https://c:4243/qps/hr/ https://a:4243/qps/hr/]" {
		t.Errorf("pool after a's failure = %s, want a last", got)
	}
	now = now.Add(cfg.NodeBackoff)
	if got := bases()[0]; got != "https://a:4243/qps/hr/" {
		t.Errorf("after the back-off, first = %s, want a again", got)
	}
	st := s.Nodes()
	if len(st) != 4 || st[0].Failures != 1 || !st[0].Up || st[3].Node != "https://d:4243/qps/hr/" {
		t.Errorf("Nodes() = %+v", st)
	}
}

// TestQPSErrorsHideSessionIDs: a QPS error is logged, and a SessionId in
// its path is the user's Qlik session cookie.
func TestQPSErrorsHideSessionIDs(t *testing.T) {
	const id = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
	c := newQPSClient(&tls.Config{MinVersion: tls.VersionTLS12}, time.Second)
	err := c.do(context.Background(), http.MethodGet, "https://127.0.0.1:1/qps/hr/", "session/"+id, nil, nil)
	if err == nil || strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "session/{id}") {
		t.Errorf("error %v: want the path with the id hidden", err)
	}
}
