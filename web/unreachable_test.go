package web

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"
)

// TestUnreachable: only a missing connection or a timeout sends users to
// the "service unavailable" page; Qlik saying no is a different problem.
func TestUnreachable(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("sense-ticket sense: %w", &url.Error{Op: "Post", URL: "https://qps:4243/qps/hr/ticket", Err: err})
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"unknown host", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "qps", IsNotFound: true}}), true},
		{"timeout", wrap(context.DeadlineExceeded), true},
		{"client certificate refused", wrap(&net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}), false},
		{"server certificate unknown", wrap(x509.UnknownAuthorityError{}), false},
		{"QPS answered 403", errors.New("qps: POST ticket: 403 Forbidden"), false},
	} {
		if got := unreachable(tt.err); got != tt.want {
			t.Errorf("%s: unreachable = %v, want %v", tt.name, got, tt.want)
		}
	}
}
