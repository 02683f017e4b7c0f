package ldap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/qlikgate/qlikgate/providers"
)

// kerberos is what an ldap provider with a `kerberos:` block needs to
// judge a browser's SPNEGO token. gokrb5 does the cryptography; this file
// only maps its answers to reasons and the client principal to a
// directory entry.
type kerberos struct {
	spn      types.PrincipalName // what tickets must be for
	spnText  string              // as configured, for logs
	realms   []string            // upper case
	settings *service.Settings
}

// adKerberosFilter finds an AD account by sAMAccountName whether or not it
// is enabled, so that a disabled account is refused with its own reason
// (a ticket outlives the account's disabling by up to its lifetime).
const adKerberosFilter = "(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))"

// AD's userAccountControl bits qlikgate refuses a ticket for; the lockout
// bit is only reliable in the computed attribute.
const (
	uacDisabled    = 0x2
	uacLockout     = 0x10
	uacAttr        = "userAccountControl"
	uacComputedAtt = "msDS-User-Account-Control-Computed"
)

func (k *KerberosConfig) validate() error {
	var errs []error
	if k.KeytabFile == "" {
		errs = append(errs, errors.New("keytab_file: required (the keytab of service_principal)"))
	}
	if _, _, err := parseSPN(k.ServicePrincipal); err != nil {
		errs = append(errs, fmt.Errorf("service_principal: %w", err))
	}
	for i, r := range k.Realms {
		if r == "" || strings.ContainsAny(r, "@/ ") {
			errs = append(errs, fmt.Errorf("realms[%d]: %q is not a realm (e.g. CORP.LOCAL)", i, r))
		}
	}
	if k.MaxClockSkew < 0 {
		errs = append(errs, errors.New("max_clock_skew: must not be negative"))
	}
	return errors.Join(errs...)
}

// parseSPN splits service/host[@REALM].
func parseSPN(s string) (types.PrincipalName, string, error) {
	name, realm, _ := strings.Cut(s, "@")
	svc, host, ok := strings.Cut(name, "/")
	if !ok || svc == "" || host == "" || strings.Contains(host, "/") {
		return types.PrincipalName{}, "", fmt.Errorf("%q is not a service principal: want HTTP/<host name users type>, e.g. HTTP/qlik-login.corp.local", s)
	}
	return types.NewPrincipalName(2 /* KRB_NT_SRV_INST */, name), realm, nil
}

// openKerberos loads the keytab and checks that it holds keys for the
// service principal.
func openKerberos(k *KerberosConfig, l interface {
	Warn(msg string, args ...any)
}) (*kerberos, error) {
	spn, realm, err := parseSPN(k.ServicePrincipal)
	if err != nil {
		return nil, fmt.Errorf("kerberos.service_principal: %w", err)
	}
	if st, err := os.Stat(k.KeytabFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		l.Warn("ldap: the keytab can be read by other accounts: it holds the service's keys; chmod 600 it",
			"file", k.KeytabFile, "mode", st.Mode().Perm().String())
	}
	kt, err := keytab.Load(k.KeytabFile)
	if err != nil {
		return nil, fmt.Errorf("kerberos.keytab_file: %w", err)
	}
	ktPrincipal, ktRealm, ok := keytabPrincipal(kt, spn, realm)
	if !ok {
		return nil, fmt.Errorf("kerberos.keytab_file: %s holds no key for %s (it has %s)", k.KeytabFile, k.ServicePrincipal, strings.Join(keytabPrincipals(kt), ", "))
	}
	realms := make([]string, 0, len(k.Realms))
	for _, r := range k.Realms {
		realms = append(realms, strings.ToUpper(r))
	}
	if len(realms) == 0 {
		realms = []string{strings.ToUpper(ktRealm)}
	}
	skew := k.MaxClockSkew
	if skew == 0 {
		skew = defaultMaxClockSkew
	}
	opts := []func(*service.Settings){
		service.MaxClockSkew(skew),
		// The directory gives the groups; decoding the PAC would only cost time.
		service.DecodePAC(false),
		service.Logger(log.New(io.Discard, "", 0)),
	}
	if !ktPrincipal.Equal(spn) {
		// A keytab exported by account (svc-http@REALM) rather than by SPN.
		opts = append(opts, service.KeytabPrincipal(ktPrincipal.PrincipalNameString()))
	}
	return &kerberos{spn: spn, spnText: k.ServicePrincipal, realms: realms, settings: service.NewSettings(kt, opts...)}, nil
}

// keytabPrincipal is the keytab's principal to decrypt tickets for spn
// with: spn itself, or the keytab's only principal (exported by account).
func keytabPrincipal(kt *keytab.Keytab, spn types.PrincipalName, realm string) (types.PrincipalName, string, bool) {
	var only []types.PrincipalName
	var onlyRealm string
	for _, e := range kt.Entries {
		pn := types.PrincipalName{NameType: e.Principal.NameType, NameString: e.Principal.Components}
		if samePrincipal(pn, spn) && (realm == "" || strings.EqualFold(realm, e.Principal.Realm)) {
			return spn, e.Principal.Realm, true
		}
		if !slices.ContainsFunc(only, func(o types.PrincipalName) bool { return samePrincipal(o, pn) }) {
			only = append(only, pn)
			onlyRealm = e.Principal.Realm
		}
	}
	if len(only) == 1 && len(only[0].NameString) == 1 {
		return only[0], onlyRealm, true
	}
	return types.PrincipalName{}, "", false
}

func keytabPrincipals(kt *keytab.Keytab) []string {
	var out []string
	for _, e := range kt.Entries {
		if s := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm; !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return []string{"no keys"}
	}
	return out
}

// samePrincipal compares the name components; the host part of an SPN is
// a DNS name, compared without regard to case as AD does.
func samePrincipal(a, b types.PrincipalName) bool {
	return slices.EqualFunc(a.NameString, b.NameString, strings.EqualFold)
}

// NegotiateEnabled reports whether the provider has a `kerberos:` block.
func (p *Provider) NegotiateEnabled() bool { return p.krb != nil }

// acceptCompleted is the SPNEGO answer to a token that was accepted
// (negState accept-completed, mechanism Kerberos): what gokrb5's own
// handler sends. gokrb5 makes no AP-REP, so this is all the mutual
// authentication a browser gets; browsers do not require more.
var acceptCompleted = func() []byte {
	b, err := (&spnego.NegTokenResp{NegState: asn1.Enumerated(0), SupportedMech: gssapi.OIDKRB5.OID()}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}()

// Negotiate verifies a browser's SPNEGO token and looks its client up in
// the directory.
func (p *Provider) Negotiate(ctx context.Context, token []byte) (providers.Identity, []byte, error) {
	if p.krb == nil {
		return providers.Identity{}, nil, errors.New("ldap: kerberos is not configured for this provider")
	}
	apreq, f := parseNegotiate(token)
	if f != nil {
		return providers.Identity{}, nil, f
	}
	if !samePrincipal(apreq.Ticket.SName, p.krb.spn) {
		return providers.Identity{}, nil, &providers.Failure{Reason: providers.ReasonWrongService, Err: fmt.Errorf("%w: a ticket for %s@%s, not %s (kerberos.service_principal)",
			providers.ErrBadCredentials, apreq.Ticket.SName.PrincipalNameString(), apreq.Ticket.Realm, p.krb.spnText)}
	}
	ok, creds, err := service.VerifyAPREQ(apreq, p.krb.settings)
	if err != nil || !ok {
		return providers.Identity{}, nil, verifyFailure(err)
	}
	realm := strings.ToUpper(creds.Domain())
	if !slices.Contains(p.krb.realms, realm) {
		return providers.Identity{}, nil, &providers.Failure{Reason: providers.ReasonForeignRealm,
			Err: fmt.Errorf("%w: client realm %s is not in kerberos.realms %v", providers.ErrBadCredentials, realm, p.krb.realms)}
	}
	cname := creds.CName()
	if len(cname.NameString) != 1 || cname.NameString[0] == "" {
		// A service or host principal (a/b@REALM) is no user of the directory.
		return providers.Identity{}, nil, &providers.Failure{Reason: providers.ReasonInvalidName,
			Err: fmt.Errorf("%w: client %s is not a user principal", providers.ErrBadCredentials, cname.PrincipalNameString())}
	}
	id, err := p.kerberosUser(ctx, cname.NameString[0])
	if err != nil {
		return providers.Identity{}, nil, err
	}
	return id, acceptCompleted, nil
}

// oidNTLMSSP is the mechanism NTLM is offered under in SPNEGO.
var oidNTLMSSP = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}

// parseNegotiate finds the Kerberos AP-REQ in a Negotiate token: an SPNEGO
// NegTokenInit, or a raw Kerberos token (which some clients send).
func parseNegotiate(token []byte) (*messages.APReq, *providers.Failure) {
	bad := func(r providers.Reason, format string, args ...any) *providers.Failure {
		return &providers.Failure{Reason: r, Err: fmt.Errorf("%w: "+format, append([]any{providers.ErrBadCredentials}, args...)...)}
	}
	if strings.HasPrefix(string(token), "NTLMSSP\x00") {
		return nil, bad(providers.ReasonNTLMToken, "the browser sent an NTLM token, not Kerberos")
	}
	var mech []byte
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(token); err == nil {
		if !st.Init {
			return nil, bad(providers.ReasonNegotiateMalformed, "an SPNEGO answer, not an initial token")
		}
		if len(st.NegTokenInit.MechTypes) > 0 && st.NegTokenInit.MechTypes[0].Equal(oidNTLMSSP) {
			return nil, bad(providers.ReasonNTLMToken, "the browser offered NTLM in SPNEGO, not Kerberos")
		}
		mech = st.NegTokenInit.MechTokenBytes
		if strings.HasPrefix(string(mech), "NTLMSSP\x00") {
			return nil, bad(providers.ReasonNTLMToken, "the browser sent NTLM in SPNEGO, not Kerberos")
		}
	} else {
		mech = token
	}
	var k5 spnego.KRB5Token
	if err := k5.Unmarshal(mech); err != nil {
		return nil, bad(providers.ReasonNegotiateMalformed, "no Kerberos AP-REQ in the token: %v", err)
	}
	if !k5.IsAPReq() {
		return nil, bad(providers.ReasonNegotiateMalformed, "the Kerberos token is not an AP-REQ")
	}
	return &k5.APReq, nil
}

// verifyFailure gives gokrb5's refusal of an AP-REQ its reason.
func verifyFailure(err error) error {
	if err == nil {
		err = errors.New("the ticket was not accepted")
	}
	r := providers.ReasonTicketInvalid
	var ke messages.KRBError
	code := int32(-1)
	if errors.As(err, &ke) {
		code = ke.ErrorCode
	} else {
		// gokrb5 wraps some refusals in its own error type, which keeps
		// only the text.
		for _, c := range []int32{errorcode.KRB_AP_ERR_TKT_EXPIRED, errorcode.KRB_AP_ERR_TKT_NYV, errorcode.KRB_AP_ERR_SKEW, errorcode.KRB_AP_ERR_REPEAT} {
			if strings.Contains(err.Error(), errorcode.Lookup(c)) {
				code = c
			}
		}
	}
	switch code {
	case errorcode.KRB_AP_ERR_TKT_EXPIRED, errorcode.KRB_AP_ERR_TKT_NYV:
		r = providers.ReasonTicketExpired
	case errorcode.KRB_AP_ERR_SKEW:
		r = providers.ReasonClockSkew
	case errorcode.KRB_AP_ERR_REPEAT:
		r = providers.ReasonReplay
	}
	return &providers.Failure{Reason: r, Err: fmt.Errorf("%w: %v", providers.ErrBadCredentials, err)}
}

// kerberosUser finds the directory entry of a Kerberos client's name (the
// principal's first component) and refuses the accounts a password login
// refuses: disabled and locked-out ones.
func (p *Provider) kerberosUser(ctx context.Context, name string) (providers.Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	var id providers.Identity
	err := p.search.run(ctx, func(c *conn) error {
		entry, err := p.findUsableUser(ctx, c, name, "kerberos ticket")
		if err != nil {
			return err
		}
		id, err = p.identity(ctx, c, entry)
		return err
	})
	if err != nil {
		return providers.Identity{}, classify(err)
	}
	return id, nil
}

// findUsableUser finds the entry of a user who proved who they are without
// a password (a Kerberos ticket, a passkey) and refuses, on Active
// Directory, the accounts a password bind would refuse: disabled and
// locked-out ones. how names the sign-in for the log line.
func (p *Provider) findUsableUser(ctx context.Context, c *conn, name, how string) (*ldap.Entry, error) {
	filter := p.cfg.UserFilter
	if p.cfg.ActiveDirectory && filter == adUserFilter {
		// The default filter hides disabled accounts; this one finds them,
		// so that they are refused as disabled rather than unknown.
		filter = adKerberosFilter
	}
	entry, err := p.findUserWith(ctx, c, filter, name, p.stateAttrs)
	if err != nil {
		return nil, err
	}
	if p.cfg.ActiveDirectory {
		if f := accountState(entry); f != nil {
			p.log.InfoContext(ctx, "ldap: "+how+" of a refused account", "dn", entry.DN, "reason", f.Reason)
			return nil, f
		}
	}
	return entry, nil
}

// accountState refuses a disabled or locked-out AD account.
func accountState(e *ldap.Entry) *providers.Failure {
	flags := func(attr string) int64 {
		var v int64
		fmt.Sscan(e.GetEqualFoldAttributeValue(attr), &v)
		return v
	}
	switch {
	case flags(uacAttr)&uacDisabled != 0:
		return &providers.Failure{Reason: providers.ReasonAccountDisabled, Err: fmt.Errorf("%w: the account is disabled", providers.ErrBadCredentials)}
	case flags(uacComputedAtt)&uacLockout != 0:
		return &providers.Failure{Reason: providers.ReasonAccountLocked, Err: fmt.Errorf("%w: the account is locked out", providers.ErrBadCredentials)}
	}
	return nil
}
