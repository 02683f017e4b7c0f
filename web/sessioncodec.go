package web

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/qlikgate/qlikgate/providers"
)

// The session state's binary encoding: what save writes since it replaced
// JSON, in the sealed cookie and in Redis alike.
//
// Every request with a session decodes the state, and a single sign-on
// hand-off does little else of its own: as JSON, the decode was the
// largest part of the web layer's own CPU on that path, and the field
// names and quotes a quarter of the cookie. The encoding is protobuf's
// wire format (tag, then a varint or a length-prefixed value), built with
// protowire rather than generated code: the state stays a plain Go struct,
// and the field numbers below are the schema.
//
// The first byte is stateBinaryV1, which no JSON text starts with, so a
// state written as JSON before (a cookie, a Redis entry) is still read as
// JSON. A field number the decoder does not know is an error, not skipped:
// the state is only ever written by qlikgate, and an older qlikgate that
// ignored a field it did not know (a factor still owed, say) would grant
// more than the state says. Such a state reads as no session.
const stateBinaryV1 = 0x01

var errStateEncoding = errors.New("session: malformed state encoding")

// Field numbers. They are the encoding: never renumber or reuse one.
const (
	// state
	fSID, fCSRF, fUser, fAuthAt, fSeenAt, fTargets, fFlows = 1, 2, 3, 4, 5, 6, 7
	fPasswordLogin, fKept, fOwes, fFactors, fNoNegotiate   = 8, 9, 10, 11, 12
	fChallenged, fPasskey                                  = 13, 14
	// providers.Identity
	fIDProvider, fIDDirectory, fIDSubject, fIDUserID, fIDName = 1, 2, 3, 4, 5
	fIDEmail, fIDEmailVerified, fIDGroups, fIDAttributes      = 6, 7, 8, 9
	// flow
	fFlowID, fFlowTarget, fFlowEntry, fFlowCreated, fFlowRedirect, fFlowChange, fFlowWindow = 1, 2, 3, 4, 5, 6, 7
	// qlik.Entry (the fields it stores: the rest are per request); a
	// message of strings only, numbered from 1 (field.strings)
	fEntryTargetID, fEntryProxyRestURI, fEntryReturnTo = 1, 2, 3
	// redirectFlow
	fRedirProvider, fRedirState, fRedirNonce, fRedirVerifier, fRedirStarted = 1, 2, 3, 4, 5
	// passwordLogin, pendingChange, passkeyCeremony, and a map entry:
	// messages of strings only (field.strings), but for an attribute's
	// repeated values
	fFirst, fSecond, fThird = 1, 2, 3
)

// encodeState appends the binary encoding of st to b. Empty fields are
// left out, as JSON's omitempty leaves them.
func encodeState(b []byte, st *state) []byte {
	b = append(b, stateBinaryV1)
	b = appendString(b, fSID, st.SID)
	b = appendString(b, fCSRF, st.CSRF)
	if u := st.User; u != nil {
		b = appendMessage(b, fUser, func(b []byte) []byte { return encodeIdentity(b, u) })
	}
	b = appendInt(b, fAuthAt, st.AuthAt)
	b = appendInt(b, fSeenAt, st.SeenAt)
	b = appendStrings(b, fTargets, st.Targets)
	for i := range st.Flows {
		b = appendMessage(b, fFlows, func(b []byte) []byte { return encodeFlow(b, &st.Flows[i]) })
	}
	if pl := st.PasswordLogin; pl != nil {
		b = appendMessage(b, fPasswordLogin, func(b []byte) []byte {
			return appendString(appendString(b, fFirst, pl.Provider), fSecond, pl.Username)
		})
	}
	for k, v := range st.Kept {
		b = appendMessage(b, fKept, func(b []byte) []byte {
			return appendString(appendAny(b, fFirst, k), fSecond, v)
		})
	}
	b = appendString(b, fOwes, st.Owes)
	b = appendStrings(b, fFactors, st.Factors)
	b = appendBool(b, fNoNegotiate, st.NoNegotiate)
	b = appendBool(b, fChallenged, st.Challenged)
	if pk := st.Passkey; pk != nil {
		b = appendMessage(b, fPasskey, func(b []byte) []byte {
			b = appendString(b, fFirst, pk.Purpose)
			if len(pk.Session) > 0 {
				b = protowire.AppendTag(b, fSecond, protowire.BytesType)
				b = protowire.AppendBytes(b, pk.Session)
			}
			return b
		})
	}
	return b
}

func encodeIdentity(b []byte, u *providers.Identity) []byte {
	b = appendString(b, fIDProvider, u.Provider)
	b = appendString(b, fIDDirectory, u.Directory)
	b = appendString(b, fIDSubject, u.Subject)
	b = appendString(b, fIDUserID, u.UserID)
	b = appendString(b, fIDName, u.Name)
	b = appendString(b, fIDEmail, u.Email)
	b = appendBool(b, fIDEmailVerified, u.EmailVerified)
	b = appendStrings(b, fIDGroups, u.Groups)
	for k, vs := range u.Attributes {
		b = appendMessage(b, fIDAttributes, func(b []byte) []byte {
			// A key with no values still round-trips, as in JSON.
			return appendStrings(appendAny(b, fFirst, k), fSecond, vs)
		})
	}
	return b
}

func encodeFlow(b []byte, f *flow) []byte {
	b = appendString(b, fFlowID, f.ID)
	b = appendString(b, fFlowTarget, f.Target)
	// Always present, as JSON writes "e" even when empty.
	b = appendMessage(b, fFlowEntry, func(b []byte) []byte {
		b = appendString(b, fEntryTargetID, f.Entry.TargetID)
		b = appendString(b, fEntryProxyRestURI, f.Entry.ProxyRestURI)
		return appendString(b, fEntryReturnTo, f.Entry.ReturnTo)
	})
	b = appendInt(b, fFlowCreated, f.Created)
	if r := f.Redirect; r != nil {
		b = appendMessage(b, fFlowRedirect, func(b []byte) []byte {
			b = appendString(b, fRedirProvider, r.Provider)
			b = appendString(b, fRedirState, r.State)
			b = appendString(b, fRedirNonce, r.Nonce)
			b = appendString(b, fRedirVerifier, r.Verifier)
			return appendInt(b, fRedirStarted, r.Started)
		})
	}
	if c := f.Change; c != nil {
		b = appendMessage(b, fFlowChange, func(b []byte) []byte {
			b = appendString(b, fFirst, c.Provider)
			b = appendString(b, fSecond, c.Username)
			return appendString(b, fThird, string(c.Reason))
		})
	}
	return appendString(b, fFlowWindow, f.Window)
}

// appendString appends a non-empty string field.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendAny(b, num, s)
}

// appendAny appends a string field even when it is empty (a slice element,
// a map key).
func appendAny(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendStrings(b []byte, num protowire.Number, ss []string) []byte {
	for _, s := range ss {
		b = appendAny(b, num, s)
	}
	return b
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeZigZag(v))
}

func appendBool(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, 1)
}

// appendMessage appends a length-prefixed message that body writes. The
// length goes before the body, so body writes into b after room for a
// two-byte length (a message under 16 KiB), and the body is moved by a
// byte when its length needs one, or by more in the (never seen) case of
// a longer one.
func appendMessage(b []byte, num protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	start := len(b)
	b = append(b, 0, 0)
	b = body(b)
	n := len(b) - start - 2
	switch size := protowire.SizeVarint(uint64(n)); {
	case size < 2:
		copy(b[start+size:], b[start+2:])
		b = b[:len(b)-(2-size)]
	case size > 2:
		b = append(b, make([]byte, size-2)...)
		copy(b[start+size:], b[start+2:start+2+n])
	}
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}

// decodeStateBinary reads what encodeState wrote into st.
func decodeStateBinary(raw []byte, st *state) error {
	if len(raw) == 0 || raw[0] != stateBinaryV1 {
		return errStateEncoding
	}
	dec := decoder{src: string(raw)}
	dec.fields(1, len(raw), func(num protowire.Number, d field) {
		switch num {
		case fSID:
			st.SID = d.string()
		case fCSRF:
			st.CSRF = d.string()
		case fUser:
			st.User = &providers.Identity{}
			d.message(func(num protowire.Number, d field) { decodeIdentity(num, d, st.User) })
		case fAuthAt:
			st.AuthAt = d.int()
		case fSeenAt:
			st.SeenAt = d.int()
		case fTargets:
			st.Targets = append(st.Targets, d.string())
		case fFlows:
			st.Flows = append(st.Flows, flow{})
			f := &st.Flows[len(st.Flows)-1]
			d.message(func(num protowire.Number, d field) { decodeFlow(num, d, f) })
		case fPasswordLogin:
			st.PasswordLogin = &passwordLogin{}
			d.strings(&st.PasswordLogin.Provider, &st.PasswordLogin.Username)
		case fKept:
			var k, v string
			d.strings(&k, &v)
			if st.Kept == nil {
				st.Kept = map[string]string{}
			}
			st.Kept[k] = v
		case fOwes:
			st.Owes = d.string()
		case fFactors:
			st.Factors = append(st.Factors, d.string())
		case fNoNegotiate:
			st.NoNegotiate = d.bool()
		case fChallenged:
			st.Challenged = d.bool()
		case fPasskey:
			var session string
			st.Passkey = &passkeyCeremony{}
			d.strings(&st.Passkey.Purpose, &session)
			if session != "" {
				st.Passkey.Session = []byte(session)
			}
		default:
			d.unknown(num)
		}
	})
	return dec.err
}

func decodeIdentity(num protowire.Number, d field, u *providers.Identity) {
	switch num {
	case fIDProvider:
		u.Provider = d.string()
	case fIDDirectory:
		u.Directory = d.string()
	case fIDSubject:
		u.Subject = d.string()
	case fIDUserID:
		u.UserID = d.string()
	case fIDName:
		u.Name = d.string()
	case fIDEmail:
		u.Email = d.string()
	case fIDEmailVerified:
		u.EmailVerified = d.bool()
	case fIDGroups:
		u.Groups = append(u.Groups, d.string())
	case fIDAttributes:
		var k string
		var vs []string
		d.message(func(num protowire.Number, d field) {
			switch num {
			case fFirst:
				k = d.string()
			case fSecond:
				vs = append(vs, d.string())
			default:
				d.unknown(num)
			}
		})
		if u.Attributes == nil {
			u.Attributes = map[string][]string{}
		}
		u.Attributes[k] = vs
	default:
		d.unknown(num)
	}
}

func decodeFlow(num protowire.Number, d field, f *flow) {
	switch num {
	case fFlowID:
		f.ID = d.string()
	case fFlowTarget:
		f.Target = d.string()
	case fFlowEntry:
		d.strings(&f.Entry.TargetID, &f.Entry.ProxyRestURI, &f.Entry.ReturnTo)
	case fFlowCreated:
		f.Created = d.int()
	case fFlowRedirect:
		f.Redirect = &redirectFlow{}
		r := f.Redirect
		d.message(func(num protowire.Number, d field) {
			switch num {
			case fRedirProvider:
				r.Provider = d.string()
			case fRedirState:
				r.State = d.string()
			case fRedirNonce:
				r.Nonce = d.string()
			case fRedirVerifier:
				r.Verifier = d.string()
			case fRedirStarted:
				r.Started = d.int()
			default:
				d.unknown(num)
			}
		})
	case fFlowChange:
		var reason string
		f.Change = &pendingChange{}
		d.strings(&f.Change.Provider, &f.Change.Username, &reason)
		f.Change.Reason = providers.Reason(reason)
	case fFlowWindow:
		f.Window = d.string()
	default:
		d.unknown(num)
	}
}

// field is one field being decoded: its wire type and value. The first
// problem (a wrong type, a value cut short, an unknown number) is kept in
// the decoder, and every later read returns a zero value, so the decoders
// above need no error checks of their own: decodeStateBinary returns the
// error at the end.
//
// A field is passed by value, the decoder is one per state, and every
// string of the state is a slice of one copy of the encoding (src): the
// state's own slices and maps are all that decoding allocates besides.
type field struct {
	typ      protowire.Type
	varint   uint64
	off, len int // a length-prefixed value's place in src
	dec      *decoder
}

type decoder struct {
	src string
	err error
}

func (d field) fail(err error) {
	if d.dec.err == nil {
		d.dec.err = err
	}
}

func (d field) string() string {
	if d.typ != protowire.BytesType {
		d.fail(errStateEncoding)
		return ""
	}
	return d.dec.src[d.off : d.off+d.len]
}

func (d field) int() int64 {
	if d.typ != protowire.VarintType {
		d.fail(errStateEncoding)
		return 0
	}
	return protowire.DecodeZigZag(d.varint)
}

func (d field) bool() bool {
	if d.typ != protowire.VarintType || d.varint > 1 {
		d.fail(errStateEncoding)
		return false
	}
	return d.varint == 1
}

func (d field) message(each func(protowire.Number, field)) {
	if d.typ != protowire.BytesType {
		d.fail(errStateEncoding)
		return
	}
	d.dec.fields(d.off, d.off+d.len, each)
}

// strings reads a message of strings only, whose fields 1, 2, … go to
// dst[0], dst[1], …: the small messages of the state (a password login, a
// kept value, a flow's entry…) are numbered so.
func (d field) strings(dst ...*string) {
	d.message(func(num protowire.Number, d field) {
		if num < 1 || int(num) > len(dst) {
			d.unknown(num)
			return
		}
		*dst[num-1] = d.string()
	})
}

func (d field) unknown(num protowire.Number) {
	d.fail(fmt.Errorf("%w: unknown field %d", errStateEncoding, num))
}

// fields calls each for every field of the message at src[from:to], in
// order, until the first problem, which it keeps in dec.err.
func (dec *decoder) fields(from, to int, each func(protowire.Number, field)) {
	b := []byte(dec.src[from:to]) // the compiler does not copy what is only read
	pos := 0
	for pos < len(b) && dec.err == nil {
		num, typ, n := protowire.ConsumeTag(b[pos:])
		if n < 0 {
			dec.err = errStateEncoding
			return
		}
		pos += n
		d := field{typ: typ, dec: dec}
		switch typ {
		case protowire.VarintType:
			d.varint, n = protowire.ConsumeVarint(b[pos:])
		case protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b[pos:])
			d.off, d.len = from+pos+n-len(v), len(v)
		default:
			n = -1
		}
		if n < 0 {
			dec.err = errStateEncoding
			return
		}
		pos += n
		each(num, d)
	}
}
