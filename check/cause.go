package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// Cause is why a connection to a server failed, as far as the error tells.
type Cause int

// The causes every protocol shares. CauseOther leaves the explanation to
// the protocol (an LDAP result code, an HTTP status).
const (
	CauseOther        Cause = iota
	CauseDNS                // the host name does not resolve
	CauseRefused            // nothing listens on the port
	CauseTimeout            // no answer in time: a firewall drops the traffic, or the host is down
	CauseUnknownCA          // the server's certificate is not signed by a trusted CA
	CauseNameMismatch       // the server's certificate does not name the host dialled
	CauseCertInvalid        // the server's certificate is expired or otherwise unusable
	CauseNotTLS             // the server answered, but not with TLS
	CauseAlert              // the server ended the TLS handshake with an alert (often: our client certificate)
	CauseClosed             // the server closed the connection without a word
)

// Classify finds the cause of err.
func Classify(err error) Cause {
	var (
		dnsErr   *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		netErr   net.Error
	)
	switch {
	case err == nil:
		return CauseOther
	case errors.As(err, &dnsErr):
		return CauseDNS
	case isRefused(err):
		return CauseRefused
	case errors.As(err, &unknown):
		return CauseUnknownCA
	case errors.As(err, &hostname):
		return CauseNameMismatch
	case errors.As(err, &invalid):
		return CauseCertInvalid
	case errors.As(err, &record):
		return CauseNotTLS
	case Alert(err) != "":
		return CauseAlert
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isReset(err):
		return CauseClosed
	}
	return CauseOther
}

// Alert returns the TLS alert the peer sent ("tls: bad certificate"), or ""
// when err is not one. A server that refuses a client certificate says so
// with an alert, which crypto/tls reports as a "remote error".
func Alert(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		return op.Err.Error()
	}
	return ""
}

// Peer describes the server a check connects to, for the fixes Explain
// writes.
type Peer struct {
	What  string // "the directory server", "the QPS"
	Addr  string // host:port as dialled
	CAKey string // the configuration key naming the trusted CA file: "ca_file", "root_ca_file"
}

// Explain returns the cause of a failure to reach p and what to do about
// it; the fix is empty for CauseOther, which the protocol must explain.
func (p Peer) Explain(err error) (Cause, string) {
	host, port, splitErr := net.SplitHostPort(p.Addr)
	if splitErr != nil {
		host, port = p.Addr, "?"
	}
	c := Classify(err)
	switch c {
	case CauseDNS:
		return c, fmt.Sprintf("the name %s does not resolve from this machine: check the spelling, and the DNS servers (or hosts file) of the machine qlikgate runs on", host)
	case CauseRefused:
		return c, fmt.Sprintf("nothing accepts connections on %s: check the port number, that %s is running, and that no firewall rejects the connection", p.Addr, p.What)
	case CauseTimeout:
		return c, fmt.Sprintf("%s did not answer in time: a firewall probably drops traffic to port %s (allow it from this machine), or the host is down", p.What, port)
	case CauseUnknownCA:
		var u x509.UnknownAuthorityError
		errors.As(err, &u)
		issuer := ""
		if u.Cert != nil {
			issuer = fmt.Sprintf(" (its certificate is issued by %q)", u.Cert.Issuer.String())
		}
		return c, fmt.Sprintf("%s is not trusted%s: set %s to a PEM file holding the CA that issued its certificate", p.What, issuer, p.CAKey)
	case CauseNameMismatch:
		var h x509.HostnameError
		errors.As(err, &h)
		return c, fmt.Sprintf("the certificate of %s does not name %q (%s): connect with a name the certificate holds", p.What, h.Host, certNames(h.Certificate))
	case CauseCertInvalid:
		return c, fmt.Sprintf("the certificate of %s is not usable (%v): renew it on the server", p.What, err)
	case CauseNotTLS:
		return c, fmt.Sprintf("%s does not speak TLS on port %s: use the TLS port, or the scheme that matches this port", p.What, port)
	case CauseAlert:
		return c, fmt.Sprintf("%s refused the TLS handshake (%s)", p.What, Alert(err))
	case CauseClosed:
		return c, fmt.Sprintf("%s closed the connection: check that port %s is the right service and protocol (TLS or not)", p.What, port)
	}
	return c, ""
}

// certNames says which names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	ns := CertNames(c)
	if len(ns) == 0 {
		return "it names no host"
	}
	return "it is valid for " + strings.Join(ns, ", ")
}

// CertNames lists the DNS names and IP addresses a certificate is valid
// for, to suggest a name that works.
func CertNames(c *x509.Certificate) []string {
	if c == nil {
		return nil
	}
	ns := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		ns = append(ns, ip.String())
	}
	return ns
}
