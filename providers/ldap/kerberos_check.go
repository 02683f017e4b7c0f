package ldap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/qlikgate/qlikgate/check"
)

// kerberosResults are `qlikgate check`'s lines for the kerberos block: the
// keytab's permissions and keys for service_principal, and the KDC's clock.
func (p *Provider) kerberosResults(ctx context.Context) []check.Result {
	k := p.cfg.Kerberos
	var out []check.Result
	if st, err := os.Stat(k.KeytabFile); err != nil {
		return append(out, check.Fail("kerberos.keytab_file", err.Error(), "export the keytab (docs/providers/kerberos.md) and make it readable by qlikgate's account"))
	} else if st.Mode().Perm()&0o077 != 0 {
		out = append(out, check.Warning("kerberos.keytab_file", fmt.Sprintf("%s is readable by other accounts (%s): it holds the service's keys", k.KeytabFile, st.Mode().Perm()),
			"chmod 600 it (on Windows: only qlikgate's service account may read it)"))
	} else {
		out = append(out, check.Pass("kerberos.keytab_file", k.KeytabFile+" is readable by its owner only"))
	}
	kt, err := keytab.Load(k.KeytabFile)
	if err != nil {
		return append(out, check.Fail("kerberos.keytab_file", err.Error(), "export the keytab again"))
	}
	out = append(out, keytabResult(kt, p.krb))
	return append(out, kdcClockResult(ctx, p.krb, kdcConfig()))
}

// keytabResult says which keys the keytab holds for the principal tickets
// are decrypted with: AES passes, RC4 alone is warned about, nothing
// usable fails.
func keytabResult(kt *keytab.Keytab, k *kerberos) check.Result {
	const name = "kerberos.service_principal"
	want := k.spn
	if p := k.settings.KeytabPrincipal(); p != nil {
		want = *p
	}
	var aes, rc4, other []string
	for _, e := range kt.Entries {
		pn := types.PrincipalName{NameType: e.Principal.NameType, NameString: e.Principal.Components}
		if !samePrincipal(pn, want) {
			continue
		}
		label := fmt.Sprintf("%s (kvno %d)", etypeName(e.Key.KeyType), e.KVNO)
		switch e.Key.KeyType {
		case etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA384_192, etypeID.AES128_CTS_HMAC_SHA256_128:
			aes = append(aes, label)
		case etypeID.RC4_HMAC:
			rc4 = append(rc4, label)
		default:
			other = append(other, label)
		}
	}
	subject := strings.Join(want.NameString, "/")
	switch {
	case len(aes) > 0 && len(rc4) == 0:
		return check.Pass(name, fmt.Sprintf("%s: keys %s", subject, strings.Join(aes, ", ")))
	case len(aes) > 0:
		return check.Warning(name, fmt.Sprintf("%s: AES keys %s, and RC4 keys %s", subject, strings.Join(aes, ", "), strings.Join(rc4, ", ")),
			"RC4 is deprecated: set msDS-SupportedEncryptionTypes to 24 (AES only) on the service account and export the keytab by SPN again")
	case len(rc4) > 0:
		return check.Warning(name, fmt.Sprintf("%s: RC4 keys only (%s): deprecated, and browsers' AES tickets cannot be read", subject, strings.Join(rc4, ", ")),
			"set msDS-SupportedEncryptionTypes to 24 (AES) on the service account, then ktpass or exportkeytab again")
	default:
		found := "none"
		if len(other) > 0 {
			found = strings.Join(other, ", ")
		}
		return check.Fail(name, fmt.Sprintf("%s: no usable key in the keytab (%s)", subject, found),
			"export an AES key for the SPN (docs/providers/kerberos.md)")
	}
}

// etypeName is the longest of the names gokrb5 knows for id
// (aes256-cts-hmac-sha1-96 rather than aes256-cts), the one klist shows.
func etypeName(id int32) string {
	best := ""
	for n, v := range etypeID.ETypesByName {
		if v == id && (len(n) > len(best) || len(n) == len(best) && n < best) {
			best = n
		}
	}
	if best == "" {
		return fmt.Sprintf("etype %d", id)
	}
	return best
}

// kdcConfig is the Kerberos client configuration of this machine
// (KRB5_CONFIG, else /etc/krb5.conf), or one that finds the realm's KDCs
// in DNS (_kerberos._tcp SRV records), as on a domain member.
func kdcConfig() *config.Config {
	path := os.Getenv("KRB5_CONFIG")
	if path == "" {
		path = "/etc/krb5.conf"
	}
	if c, err := config.Load(path); err == nil {
		return c
	}
	c := config.New()
	c.LibDefaults.DNSLookupKDC = true
	return c
}

// kdcClockResult asks a KDC of the service's realm for the time (the
// KRB-ERROR answering an AS-REQ for a principal that does not exist
// carries the KDC's clock) and compares it with this machine's: tickets
// are refused beyond max_clock_skew. An unreachable KDC is a warning, not
// a failure: qlikgate never needs to reach it.
func kdcClockResult(ctx context.Context, k *kerberos, cfg *config.Config) check.Result {
	const name = "kerberos KDC clock"
	realm := k.realms[0]
	if len(k.settings.Keytab.Entries) > 0 {
		realm = strings.ToUpper(k.settings.Keytab.Entries[0].Principal.Realm)
	}
	_, kdcs, err := cfg.GetKDCs(realm, true)
	if err != nil || len(kdcs) == 0 {
		return check.Warning(name, fmt.Sprintf("no KDC of %s found from here (%v): the clock was not compared", realm, err),
			"run check on a machine that reaches the domain controllers, or add the realm to krb5.conf")
	}
	req, err := messages.NewASReqForTGT(realm, cfg, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "qlikgate-check-clock"))
	if err != nil {
		return check.Warning(name, err.Error(), "")
	}
	b, err := req.Marshal()
	if err != nil {
		return check.Warning(name, err.Error(), "")
	}
	var errs []error
	for i := 1; i <= len(kdcs); i++ {
		kdcTime, err := askKDC(ctx, kdcs[i], b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		skew := time.Until(kdcTime).Round(time.Second)
		abs := max(skew, -skew)
		detail := fmt.Sprintf("KDC %s is %v from this machine's clock (allowed: %v)", kdcs[i], skew, k.settings.MaxClockSkew())
		switch {
		case abs > k.settings.MaxClockSkew():
			return check.Fail(name, detail, "synchronise this machine's clock with the domain (w32tm /resync, or NTP against the DCs)")
		case abs > k.settings.MaxClockSkew()/2:
			return check.Warning(name, detail, "synchronise this machine's clock with the domain (w32tm /resync, or NTP against the DCs)")
		}
		return check.Pass(name, detail)
	}
	return check.Warning(name, fmt.Sprintf("no KDC of %s answered: %v", realm, errors.Join(errs...)), "check the firewall to the domain controllers' port 88")
}

// askKDC sends an AS-REQ over TCP (RFC 4120 7.2.2: a 4-byte length, then
// the message; gokrb5 keeps its own sender private) and returns the
// KDC's time from the KRB-ERROR it answers with.
func askKDC(ctx context.Context, addr string, req []byte) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return time.Time{}, err
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	if _, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(req)))); err != nil {
		return time.Time{}, err
	}
	if _, err := c.Write(req); err != nil {
		return time.Time{}, err
	}
	var n [4]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", addr, err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 1<<20 {
		return time.Time{}, fmt.Errorf("%s: an answer of %d bytes is no KDC's", addr, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(c, b); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", addr, err)
	}
	var ke messages.KRBError
	if err := ke.Unmarshal(b); err != nil {
		return time.Time{}, fmt.Errorf("%s: not a Kerberos error: %w", addr, err)
	}
	return ke.STime.Add(time.Duration(ke.Susec) * time.Microsecond), nil
}
