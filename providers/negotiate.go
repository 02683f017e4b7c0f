package providers

import "context"

// NegotiateProvider is a provider that also signs users in with the
// SPNEGO (Kerberos) token a browser sends in `Authorization: Negotiate`:
// Windows sign-in on the intranet, with the provider's own form as the
// fallback. The web layer decides when to ask the browser for a token; the
// provider only judges one.
type NegotiateProvider interface {
	// NegotiateEnabled reports whether the provider is configured for
	// Kerberos (an ldap provider without a `kerberos:` block is not).
	NegotiateEnabled() bool
	// Negotiate verifies the token (the decoded Authorization value) and
	// finds its user in the directory. A refused token is a *Failure with
	// one of the Reason* values below or the password login's account
	// reasons, matching ErrBadCredentials; a directory that cannot be
	// asked matches ErrUnavailable. The returned bytes, when not nil, are
	// the token for the response's WWW-Authenticate header (the mutual
	// authentication answer).
	Negotiate(ctx context.Context, token []byte) (Identity, []byte, error)
}

// Reasons a Negotiate token is refused, for the log: the user sees the
// form, with no words of their own, since a browser sends its token
// without asking them.
const (
	// ReasonNTLMToken: the browser sent NTLM, not Kerberos (the host is
	// not in the Intranet zone with an SPN, or the client is not in the
	// domain).
	ReasonNTLMToken Reason = "ntlm_token"
	// ReasonNegotiateMalformed: not an SPNEGO or Kerberos token at all.
	ReasonNegotiateMalformed Reason = "negotiate_malformed"
	// ReasonWrongService: a ticket for another service principal than
	// kerberos.service_principal (the user typed another host name).
	ReasonWrongService Reason = "wrong_service_principal"
	// ReasonTicketInvalid: the keytab cannot decrypt the ticket (wrong key
	// version or encryption type: the keytab is out of date), or its
	// checksum is wrong.
	ReasonTicketInvalid Reason = "ticket_invalid"
	// ReasonTicketExpired: the ticket has expired or is not valid yet.
	ReasonTicketExpired Reason = "ticket_expired"
	// ReasonClockSkew: the client's clock and this server's differ by
	// more than the allowed skew.
	ReasonClockSkew Reason = "clock_skew"
	// ReasonReplay: this authenticator was seen before.
	ReasonReplay Reason = "replayed_authenticator"
	// ReasonForeignRealm: the client's realm is not in kerberos.realms.
	ReasonForeignRealm Reason = "foreign_realm"
)
