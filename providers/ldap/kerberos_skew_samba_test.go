package ldap

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"context"

	"github.com/qlikgate/qlikgate/providers"
)

// tokenFromClockAt is a Negotiate token of cl for spn with a real service
// ticket from the KDC, whose authenticator says it was made at ctime: what
// a client whose clock is off sends (the KDC does not see the
// authenticator; only qlikgate can judge it).
func tokenFromClockAt(t *testing.T, cl *client.Client, spn string, ctime time.Time) []byte {
	t.Helper()
	tkt, key, err := cl.GetServiceTicket(spn)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := types.NewAuthenticator(cl.Credentials.Domain(), cl.Credentials.CName())
	if err != nil {
		t.Fatal(err)
	}
	auth.CTime = ctime.UTC()
	// RFC 4121 4.1.1: the GSS-API checksum, no channel bindings, with the
	// integrity and confidentiality flags the library's own tokens carry.
	sum := make([]byte, 24)
	binary.LittleEndian.PutUint32(sum[:4], 16)
	binary.LittleEndian.PutUint32(sum[20:24], uint32(gssapi.ContextFlagInteg|gssapi.ContextFlagConf))
	auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: sum}
	mt, err := spnego.NewKRB5TokenAPREQ(cl, tkt, key, []int{gssapi.ContextFlagInteg, gssapi.ContextFlagConf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mt.APReq, err = messages.NewAPReq(tkt, key, auth); err != nil {
		t.Fatal(err)
	}
	mtb, err := mt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes: []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}, MechTokenBytes: mtb}}
	b, err := tok.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNegotiateClockSkewSamba: a real ticket from the Samba KDC, presented
// by a client whose clock is ten minutes behind, is refused as clock_skew
// with the default max_clock_skew (5 min) and accepted with 15 min; the
// same construction with the right time is accepted, so the refusal is the
// clock's and not the hand-made token's.
func TestNegotiateClockSkewSamba(t *testing.T) {
	s := needSamba(t)
	alice := kerberosClient(t, s, "alice")
	p, _ := openProvider(t, sambaConfig(s, withKerberos(s)))
	if id, _, err := p.Negotiate(context.Background(), tokenFromClockAt(t, alice, s.SPN, time.Now())); err != nil || id.UserID != "alice" {
		t.Fatalf("a token made the same way, with the right time: %+v, %v", id, err)
	}
	behind := time.Now().Add(-10 * time.Minute)
	_, _, err := p.Negotiate(context.Background(), tokenFromClockAt(t, alice, s.SPN, behind))
	wantReason(t, err, providers.ReasonClockSkew)

	lenient, _ := openProvider(t, sambaConfig(s, withKerberos(s, func(k *KerberosConfig) { k.MaxClockSkew = 15 * time.Minute })))
	if id, _, err := lenient.Negotiate(context.Background(), tokenFromClockAt(t, alice, s.SPN, behind)); err != nil || id.UserID != "alice" {
		t.Fatalf("ten minutes behind with max_clock_skew 15m: %+v, %v", id, err)
	}
}
