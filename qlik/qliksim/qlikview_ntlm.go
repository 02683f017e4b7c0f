package qliksim

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	//lint:ignore SA1019 NTLM is defined with MD4; this is legacy compatibility, not security
	"golang.org/x/crypto/md4"
)

// The server side of NTLM over HTTP (MS-NTHT) with NTLMv2 responses
// (MS-NLMP), the way IIS runs it for GetWebTicket.aspx when Windows
// authentication is on:
//
//	C: POST (no Authorization)        S: 401 WWW-Authenticate: Negotiate / NTLM
//	C: Authorization: NTLM <NEGOTIATE> S: 401 WWW-Authenticate: NTLM <CHALLENGE>
//	C: Authorization: NTLM <AUTHENTICATE> (same connection)  S: the page
//
// The handshake authenticates the connection: the challenge is kept per
// connection, and after success further requests on it pass without a new
// handshake (IIS's default, authPersistSingleRequest=false). NTLMv1 and
// anonymous logins are refused, as on a server at LmCompatibilityLevel 5.

// NTLM negotiate flags (MS-NLMP 2.2.2.5) the simulator uses.
const (
	ntlmUnicode          = 1 << 0
	ntlmRequestTarget    = 1 << 2
	ntlmNTLM             = 1 << 9
	ntlmAlwaysSign       = 1 << 15
	ntlmTargetTypeDomain = 1 << 16
	ntlmExtendedSecurity = 1 << 19
	ntlmTargetInfo       = 1 << 23
	ntlmVersion          = 1 << 25
	ntlm128              = 1 << 29
	ntlm56               = 1 << 31
)

// AV pair ids of the challenge's target information (MS-NLMP 2.2.2.1).
const (
	avEOL             = 0
	avNbComputerName  = 1
	avNbDomainName    = 2
	avDNSComputerName = 3
	avDNSDomainName   = 4
	avTimestamp       = 7
)

const ntlmComputerName = "QVSERVER"

var ntlmSignature = []byte("NTLMSSP\x00")

type qvConnKey struct{}

// qvConn is the NTLM state of one client connection.
type qvConn struct {
	mu        sync.Mutex
	challenge []byte // server challenge of a handshake in progress
	user      string // account the connection authenticated as
}

// ntlmAuthenticate authenticates the request's connection, writing the
// 401 answers of the handshake itself. It returns the account name and
// whether the page may run.
func (q *QlikView) ntlmAuthenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	conn, _ := r.Context().Value(qvConnKey{}).(*qvConn)
	if conn == nil {
		q.unauthorized(w, r, "no connection state")
		return "", false
	}
	conn.mu.Lock()
	defer conn.mu.Unlock()

	scheme, token, err := parseNTLMAuthorization(r.Header.Get("Authorization"))
	switch {
	case err != nil:
		q.unauthorized(w, r, err.Error())
		return "", false
	case scheme == "":
		if conn.user != "" {
			return conn.user, true
		}
		q.unauthorized(w, r, "no credentials")
		return "", false
	}
	conn.user = "" // a new handshake starts over
	switch ntlmMessageType(token) {
	case 1:
		challenge, msg, err := q.ntlmChallenge(token)
		if err != nil {
			conn.challenge = nil
			q.unauthorized(w, r, err.Error())
			return "", false
		}
		conn.challenge = challenge
		w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(msg))
		q.logf("GetWebTicket: NTLM challenge sent to %s", r.RemoteAddr)
		plainError(w, http.StatusUnauthorized, "401 - Unauthorized: Access is denied due to invalid credentials.")
		return "", false
	case 3:
		challenge := conn.challenge
		conn.challenge = nil // one answer per challenge
		if challenge == nil {
			q.stats.ntlmFail.Add(1)
			q.unauthorized(w, r, "AUTHENTICATE without a NEGOTIATE on this connection")
			return "", false
		}
		user, err := verifyNTLMAuthenticate(token, challenge, *q.opts.Credentials)
		if err != nil {
			q.stats.ntlmFail.Add(1)
			q.unauthorized(w, r, "logon failed: "+err.Error())
			return "", false
		}
		q.stats.ntlmOK.Add(1)
		conn.user = user
		q.logf("GetWebTicket: %s authenticated with NTLM as %s", r.RemoteAddr, user)
		return user, true
	default:
		conn.challenge = nil
		q.unauthorized(w, r, "the token is not an NTLM NEGOTIATE or AUTHENTICATE message (Kerberos is not simulated)")
		return "", false
	}
}

// unauthorized answers 401 and offers both schemes, as IIS does.
func (q *QlikView) unauthorized(w http.ResponseWriter, r *http.Request, reason string) {
	q.logf("GetWebTicket: %s from %s: 401: %s", r.Method, r.RemoteAddr, reason)
	w.Header().Add("WWW-Authenticate", "Negotiate")
	w.Header().Add("WWW-Authenticate", "NTLM")
	plainError(w, http.StatusUnauthorized, "401 - Unauthorized: Access is denied due to invalid credentials.")
}

// parseNTLMAuthorization splits "NTLM <base64>" or "Negotiate <base64>".
// An empty header yields an empty scheme and no error.
func parseNTLMAuthorization(h string) (scheme string, token []byte, err error) {
	if h == "" {
		return "", nil, nil
	}
	s, data, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(s, "NTLM"):
		scheme = "NTLM"
	case strings.EqualFold(s, "Negotiate"):
		scheme = "Negotiate"
	default:
		return "", nil, fmt.Errorf("authorization scheme %q is not offered", s)
	}
	token, err = base64.StdEncoding.DecodeString(strings.TrimSpace(data))
	if err != nil || len(token) == 0 {
		return "", nil, fmt.Errorf("%s token is not base64", scheme)
	}
	return scheme, token, nil
}

func ntlmMessageType(msg []byte) uint32 {
	if len(msg) < 12 || !bytes.Equal(msg[:8], ntlmSignature) {
		return 0
	}
	return binary.LittleEndian.Uint32(msg[8:12])
}

// ntlmChallenge builds the CHALLENGE message for a NEGOTIATE message and
// returns it with the fresh server challenge.
func (q *QlikView) ntlmChallenge(negotiate []byte) (challenge, msg []byte, err error) {
	if len(negotiate) < 16 {
		return nil, nil, errors.New("NEGOTIATE message too short")
	}
	clientFlags := binary.LittleEndian.Uint32(negotiate[12:16])
	if clientFlags&ntlmUnicode == 0 {
		return nil, nil, errors.New("the client does not offer Unicode (OEM strings are not simulated)")
	}
	flags := uint32(ntlmUnicode | ntlmRequestTarget | ntlmNTLM | ntlmAlwaysSign | ntlmTargetTypeDomain |
		ntlmTargetInfo | ntlmVersion)
	flags |= clientFlags & (ntlmExtendedSecurity | ntlm128 | ntlm56)

	challenge = make([]byte, 8)
	if _, err := rand.Read(challenge); err != nil {
		return nil, nil, fmt.Errorf("server challenge: %w", err)
	}
	domain := strings.ToUpper(q.opts.Credentials.Domain)
	if domain == "" {
		domain = "QLIKSIM"
	}
	dnsDomain := strings.ToLower(domain) + ".local"
	var info bytes.Buffer
	for _, av := range []struct {
		id  uint16
		val []byte
	}{
		{avNbDomainName, utf16le(domain)},
		{avNbComputerName, utf16le(ntlmComputerName)},
		{avDNSDomainName, utf16le(dnsDomain)},
		{avDNSComputerName, utf16le(strings.ToLower(ntlmComputerName) + "." + dnsDomain)},
		{avTimestamp, fileTime(q.opts.Now())},
		{avEOL, nil},
	} {
		_ = binary.Write(&info, binary.LittleEndian, [2]uint16{av.id, uint16(len(av.val))})
		info.Write(av.val)
	}
	target := utf16le(domain)

	const headerLen = 56 // up to and including the version
	var m bytes.Buffer
	m.Write(ntlmSignature)
	le32(&m, 2)
	varField(&m, len(target), headerLen)
	le32(&m, flags)
	m.Write(challenge)
	m.Write(make([]byte, 8)) // reserved
	varField(&m, info.Len(), headerLen+len(target))
	m.Write([]byte{10, 0, 0x63, 0x45, 0, 0, 0, 15}) // Windows 10.0.17763, NTLM revision 15
	m.Write(target)
	m.Write(info.Bytes())
	return challenge, m.Bytes(), nil
}

// verifyNTLMAuthenticate checks an AUTHENTICATE message against the
// challenge and the one account the simulator knows, and returns the
// account as DOMAIN\user.
func verifyNTLMAuthenticate(msg, challenge []byte, cred NTLMCredentials) (string, error) {
	if len(msg) < 64 {
		return "", errors.New("AUTHENTICATE message too short")
	}
	field := func(off int) ([]byte, error) {
		l := int(binary.LittleEndian.Uint16(msg[off:]))
		o := int(binary.LittleEndian.Uint32(msg[off+4:]))
		if o < 0 || o > len(msg) || l > len(msg)-o {
			return nil, errors.New("AUTHENTICATE field outside the message")
		}
		return msg[o : o+l], nil
	}
	var raw [4][]byte // NT response, domain, user, workstation
	for i, off := range []int{20, 28, 36, 44} {
		b, err := field(off)
		if err != nil {
			return "", err
		}
		raw[i] = b
	}
	if binary.LittleEndian.Uint32(msg[60:64])&ntlmUnicode == 0 {
		return "", errors.New("AUTHENTICATE is not in Unicode")
	}
	nt := raw[0]
	domain, err1 := fromUTF16le(raw[1])
	user, err2 := fromUTF16le(raw[2])
	if err := errors.Join(err1, err2); err != nil {
		return "", err
	}
	switch {
	case user == "" && len(nt) == 0:
		return "", errors.New("anonymous logon refused")
	case len(nt) == 24:
		return "", errors.New("NTLMv1 response refused (NTLMv2 only)")
	case len(nt) < 16+28 || nt[16] != 1 || nt[17] != 1:
		return "", errors.New("malformed NTLMv2 response")
	case !strings.EqualFold(user, cred.Username):
		return "", fmt.Errorf("unknown user %q", user)
	case cred.Domain != "" && domain != "" && !strings.EqualFold(domain, cred.Domain):
		return "", fmt.Errorf("unknown domain %q", domain)
	}
	// NTOWFv2 uses the user name upper-cased and the domain as sent.
	key := hmacMD5(md4Sum(utf16le(cred.Password)), utf16le(strings.ToUpper(user)+domain))
	blob := nt[16:]
	if !hmac.Equal(hmacMD5(key, challenge, blob), nt[:16]) {
		return "", fmt.Errorf("wrong password for %q", user)
	}
	if domain == "" {
		domain = cred.Domain
	}
	if domain == "" {
		return user, nil
	}
	return domain + `\` + user, nil
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	mac := hmac.New(md5.New, key)
	for _, d := range data {
		mac.Write(d)
	}
	return mac.Sum(nil)
}

func md4Sum(b []byte) []byte {
	h := md4.New()
	h.Write(b)
	return h.Sum(nil)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("odd-length UTF-16 string")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// fileTime is t as a Windows FILETIME: 100 ns ticks since 1601.
func fileTime(t time.Time) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(t.UnixNano()/100)+116444736000000000)
	return b
}

func le32(b *bytes.Buffer, v uint32) { _ = binary.Write(b, binary.LittleEndian, v) }

// varField writes a security buffer header: length, max length, offset.
func varField(b *bytes.Buffer, length, offset int) {
	_ = binary.Write(b, binary.LittleEndian, struct {
		Len, Max uint16
		Off      uint32
	}{uint16(length), uint16(length), uint32(offset)})
}
