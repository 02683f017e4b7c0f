package ldap

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers"
)

// unavailable marks err as "the directory could not be asked", which the
// login page shows as a temporary problem (HTTP 503).
func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{providers.ErrUnavailable}, args...)...)
}

// wrapBad marks err as bad credentials, keeping the server's message for the log.
func wrapBad(err error) error {
	return fmt.Errorf("%w: %w", providers.ErrBadCredentials, err)
}

// isTransport reports whether err means the connection (not the request) failed:
// the connection must be dropped and the server may be down.
func isTransport(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return true // net errors, EOF, TLS handshake failures…
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork, ldap.ErrorUnexpectedMessage, ldap.ErrorUnexpectedResponse,
		ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultTimeLimitExceeded:
		return true
	}
	return false
}

// diagnostic returns the server's message of an LDAP result error.
func diagnostic(err error) string {
	var le *ldap.Error
	if errors.As(err, &le) && le.Err != nil {
		return le.Err.Error()
	}
	return ""
}
