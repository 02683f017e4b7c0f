package mfa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"golang.org/x/net/publicsuffix"
)

// CeremonyTimeout is how long a passkey ceremony may take, from the
// options to the signed answer: the browser is told, and the server
// enforces it.
const CeremonyTimeout = 3 * time.Minute

// MaxPasskeyName bounds the name a user gives a passkey.
const MaxPasskeyName = 64

// RelyingParty is qlikgate as a WebAuthn relying party: its id (a domain)
// and its one origin both come from server.public_url, so a passkey
// made on one address cannot be used through another.
type RelyingParty struct {
	wa     *webauthn.WebAuthn
	ID     string
	Origin string
}

// RelyingPartyOf checks that publicURL can carry passkeys and returns the
// RP id and origin. rpID is mfa.rp_id: empty means the host of
// publicURL; else it must be that host or a parent domain of it that is
// not a public suffix (a passkey for example.org then also works on
// sso.example.org). Errors name the key at fault.
func RelyingPartyOf(publicURL, rpID string) (id, origin string, err error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", fmt.Errorf("server.public_url: %q is not an absolute http(s) URL", publicURL)
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return "", "", fmt.Errorf("server.public_url: %q: passkeys (mfa methods: [webauthn]) need a host name: browsers refuse an IP address as the relying party id", publicURL)
	}
	if u.Scheme == "http" && host != "localhost" {
		return "", "", fmt.Errorf("server.public_url: %q is plain http: browsers offer passkeys (mfa methods: [webauthn]) only on https pages, or on http://localhost", publicURL)
	}
	origin = u.Scheme + "://" + strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		origin = u.Scheme + "://" + host
	}
	id = strings.ToLower(strings.TrimSuffix(rpID, "."))
	if id == "" {
		return host, origin, nil
	}
	if id != host {
		if !strings.HasSuffix(host, "."+id) {
			return "", "", fmt.Errorf("mfa.rp_id: %q is neither the host of server.public_url (%q) nor a parent domain of it: browsers refuse such a relying party id", rpID, host)
		}
		if etld1, err := publicsuffix.EffectiveTLDPlusOne(host); err != nil || len(id) < len(etld1) {
			return "", "", fmt.Errorf("mfa.rp_id: %q is a public suffix: name the organisation's own domain (at least %q)", rpID, etld1)
		}
	}
	return id, origin, nil
}

// NewRelyingParty builds the relying party for publicURL (see
// RelyingPartyOf); displayName is what authenticators show.
func NewRelyingParty(publicURL, rpID, displayName string) (*RelyingParty, error) {
	id, origin, err := RelyingPartyOf(publicURL, rpID)
	if err != nil {
		return nil, err
	}
	t := webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTimeout, TimeoutUVD: CeremonyTimeout}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: id, RPDisplayName: displayName, RPOrigins: []string{origin},
		Timeouts: webauthn.TimeoutsConfig{Login: t, Registration: t},
	})
	if err != nil {
		return nil, fmt.Errorf("server.public_url: %q: passkeys: %w", publicURL, err)
	}
	return &RelyingParty{wa: wa, ID: id, Origin: origin}, nil
}

// PasskeyUser is a user as a WebAuthn ceremony sees them: the random
// handle (never the user id: authenticators show and keep it), a name,
// and the passkeys' records as the store keeps them.
type PasskeyUser struct {
	Handle      []byte
	Name        string
	DisplayName string
	Records     [][]byte

	creds []webauthn.Credential
}

func (u *PasskeyUser) WebAuthnID() []byte          { return u.Handle }
func (u *PasskeyUser) WebAuthnName() string        { return u.Name }
func (u *PasskeyUser) WebAuthnDisplayName() string { return u.DisplayName }
func (u *PasskeyUser) WebAuthnCredentials() []webauthn.Credential {
	return u.creds
}

// decode reads the records; one that cannot be read is an error, not a
// passkey silently dropped.
func (u *PasskeyUser) decode() error {
	u.creds = make([]webauthn.Credential, 0, len(u.Records))
	for i, r := range u.Records {
		var c webauthn.Credential
		if err := json.Unmarshal(r, &c); err != nil {
			return fmt.Errorf("passkey record %d: %w", i, err)
		}
		u.creds = append(u.creds, c)
	}
	return nil
}

// Ceremony is a begun ceremony: Options go to the browser
// (navigator.credentials), Session stays with qlikgate (in the signed and
// encrypted session) until the answer comes.
type Ceremony struct {
	Options json.RawMessage
	Session json.RawMessage
}

func ceremony(opts any, sd *webauthn.SessionData) (Ceremony, error) {
	o, err := json.Marshal(opts)
	if err != nil {
		return Ceremony{}, err
	}
	s, err := json.Marshal(sd)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Options: o, Session: s}, nil
}

// BeginRegistration starts registering a passkey for u; discoverable asks
// for a passkey kept on the authenticator with user verification, as
// passwordless sign-in needs. u's passkeys are excluded, so one
// authenticator is registered once.
func (rp *RelyingParty) BeginRegistration(u *PasskeyUser, discoverable bool) (Ceremony, error) {
	if err := u.decode(); err != nil {
		return Ceremony{}, err
	}
	sel := protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred}
	if discoverable {
		sel = protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired}
	}
	opts, sd, err := rp.wa.BeginRegistration(u, webauthn.WithAuthenticatorSelection(sel),
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin a passkey registration: %w", err)
	}
	return ceremony(opts, sd)
}

// Registered is a passkey a registration made.
type Registered struct {
	ID        []byte
	Record    []byte
	SignCount uint32
	Spent     Spent
}

// Spent is the challenge a ceremony's answer used up: the store records
// it (store.SpendChallenge) so that the same answer never counts twice.
type Spent struct {
	Challenge string
	Expires   time.Time
}

func spent(session json.RawMessage) (webauthn.SessionData, Spent, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(session, &sd); err != nil {
		return sd, Spent{}, fmt.Errorf("read the passkey ceremony: %w", err)
	}
	if sd.Challenge == "" {
		return sd, Spent{}, errors.New("read the passkey ceremony: no challenge")
	}
	return sd, Spent{Challenge: sd.Challenge, Expires: sd.Expires}, nil
}

// FinishRegistration checks the browser's answer (credential.toJSON())
// to a registration begun for u.
func (rp *RelyingParty) FinishRegistration(u *PasskeyUser, session json.RawMessage, answer []byte) (Registered, error) {
	sd, sp, err := spent(session)
	if err != nil {
		return Registered{}, err
	}
	if err := u.decode(); err != nil {
		return Registered{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(answer))
	if err != nil {
		return Registered{}, describe("parse the passkey registration", err)
	}
	c, err := rp.wa.CreateCredential(u, sd, parsed)
	if err != nil {
		return Registered{}, describe("verify the passkey registration", err)
	}
	rec, err := json.Marshal(c)
	if err != nil {
		return Registered{}, err
	}
	return Registered{ID: c.ID, Record: rec, SignCount: c.Authenticator.SignCount, Spent: sp}, nil
}

// BeginLogin asks for one of u's passkeys, as a second factor.
func (rp *RelyingParty) BeginLogin(u *PasskeyUser) (Ceremony, error) {
	if err := u.decode(); err != nil {
		return Ceremony{}, err
	}
	opts, sd, err := rp.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin a passkey sign-in: %w", err)
	}
	return ceremony(opts, sd)
}

// BeginPasswordless asks for any discoverable passkey of this relying
// party, with user verification: the passkey alone signs the user in.
func (rp *RelyingParty) BeginPasswordless() (Ceremony, error) {
	opts, sd, err := rp.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin a passwordless sign-in: %w", err)
	}
	return ceremony(opts, sd)
}

// Assertion is a parsed sign-in answer, before it is verified.
type Assertion struct {
	parsed *protocol.ParsedCredentialAssertionData
	// UserHandle is the handle the authenticator gave (passwordless).
	UserHandle []byte
}

// ParseAssertion reads the browser's answer (credential.toJSON()) to a
// sign-in; nothing is verified yet.
func ParseAssertion(answer []byte) (Assertion, error) {
	p, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(answer))
	if err != nil {
		return Assertion{}, describe("parse the passkey answer", err)
	}
	return Assertion{parsed: p, UserHandle: p.Response.UserHandle}, nil
}

// Used is what a verified sign-in answer changed: the passkey's record
// and counter to store, and the challenge to spend.
type Used struct {
	ID        []byte
	Record    []byte
	SignCount uint32
	// CloneWarning: the counter went back, the authenticator may have
	// been copied; the sign-in is refused.
	CloneWarning bool
	Spent        Spent
}

// FinishLogin verifies a (second-factor or passwordless) sign-in answer
// against u's passkeys and the begun ceremony.
func (rp *RelyingParty) FinishLogin(u *PasskeyUser, session json.RawMessage, a Assertion, passwordless bool) (Used, error) {
	sd, sp, err := spent(session)
	if err != nil {
		return Used{}, err
	}
	if err := u.decode(); err != nil {
		return Used{}, err
	}
	var c *webauthn.Credential
	if passwordless {
		_, c, err = rp.wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			if !bytes.Equal(handle, u.Handle) {
				return nil, errors.New("the passkey belongs to another user")
			}
			return u, nil
		}, sd, a.parsed)
	} else {
		c, err = rp.wa.ValidateLogin(u, sd, a.parsed)
	}
	if err != nil {
		return Used{}, describe("verify the passkey answer", err)
	}
	rec, err := json.Marshal(c)
	if err != nil {
		return Used{}, err
	}
	return Used{ID: c.ID, Record: rec, SignCount: c.Authenticator.SignCount, CloneWarning: c.Authenticator.CloneWarning, Spent: sp}, nil
}

// describe keeps go-webauthn's details (which check failed), which its
// Error() leaves out.
func describe(what string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return fmt.Errorf("%s: %s: %s", what, pe.Type, pe.Details)
	}
	return fmt.Errorf("%s: %w", what, err)
}
