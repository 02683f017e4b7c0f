package qliksim

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/go-ntlmssp"
)

var qvCreds = &NTLMCredentials{Domain: "CORP", Username: "svc-qlikgate", Password: "s3cret!"}

// ntlmClient is an HTTP client that authenticates with go-ntlmssp, the
// library the qlikview target uses.
func ntlmClient(t *testing.T, keepAlive bool) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: !keepAlive}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: tr}}
}

func ntlmPost(t *testing.T, c *http.Client, q *QlikView, user, password string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, q.WebTicketURL(), strings.NewReader(qvSimpleRequest))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password) // the Negotiator turns this into NTLM
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b.String()}
}

func TestQVNTLMLogin(t *testing.T) {
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{name: "right password", user: `CORP\svc-qlikgate`, password: "s3cret!", ok: true},
		{name: "names in other case", user: `corp\SVC-QLIKGATE`, password: "s3cret!", ok: true},
		{name: "no domain: the server's own", user: `svc-qlikgate`, password: "s3cret!", ok: true},
		{name: "wrong password", user: `CORP\svc-qlikgate`, password: "S3cret!"},
		{name: "empty password", user: `CORP\svc-qlikgate`, password: ""},
		{name: "wrong user", user: `CORP\administrator`, password: "s3cret!"},
		{name: "wrong domain", user: `OTHER\svc-qlikgate`, password: "s3cret!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := newQV(t, QlikViewOptions{Credentials: qvCreds})
			r := ntlmPost(t, ntlmClient(t, true), q, tt.user, tt.password)
			st := q.Stats()
			if !tt.ok {
				if r.status != http.StatusUnauthorized || st.NTLMFailures != 1 || st.TicketsIssued != 0 {
					t.Fatalf("got %d %q, stats %+v; want 401", r.status, r.body, st)
				}
				return
			}
			if r.status != http.StatusOK || qvTicketRE.FindStringSubmatch(r.body) == nil || st.NTLMLogins != 1 {
				t.Fatalf("got %d %q, stats %+v; want a ticket", r.status, r.body, st)
			}
		})
	}
}

func TestQVNTLMConnection(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{Credentials: qvCreds})

	t.Run("no credentials: 401 offering Negotiate and NTLM", func(t *testing.T) {
		r := do(t, qvClient(t), http.MethodPost, q.WebTicketURL(), qvSimpleRequest, nil)
		got := strings.Join(r.header.Values("WWW-Authenticate"), ",")
		if r.status != http.StatusUnauthorized || got != "Negotiate,NTLM" {
			t.Fatalf("got %d, WWW-Authenticate %q", r.status, got)
		}
	})
	t.Run("Basic is not offered", func(t *testing.T) {
		h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(`CORP\svc-qlikgate:s3cret!`))}}
		if r := do(t, qvClient(t), http.MethodPost, q.WebTicketURL(), qvSimpleRequest, h); r.status != http.StatusUnauthorized {
			t.Fatalf("got %d", r.status)
		}
	})
	t.Run("the connection stays authenticated", func(t *testing.T) {
		c := ntlmClient(t, true)
		before := q.Stats().NTLMLogins
		for range 3 {
			if r := ntlmPost(t, c, q, `CORP\svc-qlikgate`, "s3cret!"); r.status != http.StatusOK {
				t.Fatalf("got %d", r.status)
			}
		}
		if n := q.Stats().NTLMLogins - before; n != 1 {
			t.Fatalf("%d handshakes for three requests on one connection, want 1", n)
		}
	})
	t.Run("a handshake spread over connections fails", func(t *testing.T) {
		if r := ntlmPost(t, ntlmClient(t, false), q, `CORP\svc-qlikgate`, "s3cret!"); r.status != http.StatusUnauthorized {
			t.Fatalf("got %d, want 401", r.status)
		}
	})
	t.Run("a trusted address needs no NTLM", func(t *testing.T) {
		q2, _ := newQV(t, QlikViewOptions{Credentials: qvCreds, TrustedIPs: []string{"127.0.0.1"}})
		qvGetTicket(t, q2, qvClient(t), qvSimpleRequest)
	})
}

// TestQVNTLMManualHandshake drives the handshake message by message, with
// both scheme names IIS offers.
func TestQVNTLMManualHandshake(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{Credentials: qvCreds})
	for _, scheme := range []string{"NTLM", "Negotiate"} {
		t.Run(scheme, func(t *testing.T) {
			c := qvClient(t) // one keep-alive connection
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			auth := func(msg []byte) http.Header {
				return http.Header{"Authorization": {scheme + " " + base64.StdEncoding.EncodeToString(msg)}}
			}
			r := do(t, c, http.MethodPost, q.WebTicketURL(), qvSimpleRequest, auth(neg))
			challengeB64, ok := strings.CutPrefix(r.header.Get("WWW-Authenticate"), scheme+" ")
			if r.status != http.StatusUnauthorized || !ok {
				t.Fatalf("NEGOTIATE: got %d, WWW-Authenticate %q", r.status, r.header.Get("WWW-Authenticate"))
			}
			challenge, err := base64.StdEncoding.DecodeString(challengeB64)
			if err != nil {
				t.Fatal(err)
			}
			am, err := ntlmssp.NewAuthenticateMessage(challenge, `CORP\svc-qlikgate`, "s3cret!", nil)
			if err != nil {
				t.Fatalf("the library refused the challenge: %v", err)
			}
			if r := do(t, c, http.MethodPost, q.WebTicketURL(), qvSimpleRequest, auth(am)); r.status != http.StatusOK {
				t.Fatalf("AUTHENTICATE: got %d %q", r.status, r.body)
			}
			// The same AUTHENTICATE again: the challenge is spent.
			if r := do(t, c, http.MethodPost, q.WebTicketURL(), qvSimpleRequest, auth(am)); r.status != http.StatusUnauthorized {
				t.Fatalf("replayed AUTHENTICATE: got %d, want 401", r.status)
			}
		})
	}
	t.Run("not an NTLM token (Kerberos)", func(t *testing.T) {
		h := http.Header{"Authorization": {"Negotiate " + base64.StdEncoding.EncodeToString([]byte{0x60, 0x82, 1, 2, 3})}}
		if r := do(t, qvClient(t), http.MethodPost, q.WebTicketURL(), qvSimpleRequest, h); r.status != http.StatusUnauthorized {
			t.Fatalf("got %d", r.status)
		}
	})
}

// The NTLMv2 example of MS-NLMP 4.2.4: user "User", domain "Domain",
// password "Password", server challenge 0123456789abcdef, client challenge
// aa…aa, time 0, target information Domain/Server.
var nlmpExample = struct {
	challenge, blob, proof []byte
}{
	challenge: mustHex("0123456789abcdef"),
	blob: mustHex("0101000000000000" + // versions, reserved
		"0000000000000000" + "aaaaaaaaaaaaaaaa" + "00000000" + // time, client challenge, reserved
		"02000c00" + "44006f006d00610069006e00" + // NetBIOS domain "Domain"
		"01000c00" + "530065007200760065007200" + // NetBIOS computer "Server"
		"00000000" + "00000000"), // EOL, reserved
	proof: mustHex("68cd0ab851e51c96aabc927bebef6a1c"),
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// authenticateMessage builds an AUTHENTICATE message around an NT response.
func authenticateMessage(domain, user string, nt []byte, flags uint32) []byte {
	payload := [][]byte{nil, nt, utf16le(domain), utf16le(user), utf16le("WS")}
	var head, body bytes.Buffer
	head.Write(ntlmSignature)
	le32(&head, 3)
	off := 64
	for _, p := range payload {
		varField(&head, len(p), off)
		off += len(p)
		body.Write(p)
	}
	varField(&head, 0, off) // session key
	le32(&head, flags)
	return append(head.Bytes(), body.Bytes()...)
}

func TestQVNTLMVerify(t *testing.T) {
	cred := NTLMCredentials{Domain: "Domain", Username: "User", Password: "Password"}
	valid := append(append([]byte{}, nlmpExample.proof...), nlmpExample.blob...)
	tests := []struct {
		name string
		msg  []byte
		cred NTLMCredentials
		want string // account, or an error substring prefixed with "!"
	}{
		{"MS-NLMP example", authenticateMessage("Domain", "User", valid, ntlmUnicode), cred, `Domain\User`},
		{"user in other case: NTOWFv2 upper-cases it", authenticateMessage("Domain", "USER", valid, ntlmUnicode), cred, `Domain\USER`},
		{"wrong password", authenticateMessage("Domain", "User", valid, ntlmUnicode), NTLMCredentials{Domain: "Domain", Username: "User", Password: "password"}, "!wrong password"},
		{"tampered blob", authenticateMessage("Domain", "User", append(append([]byte{}, valid[:len(valid)-1]...), 1), ntlmUnicode), cred, "!wrong password"},
		{"NTLMv1", authenticateMessage("Domain", "User", make([]byte, 24), ntlmUnicode), cred, "!NTLMv1"},
		{"anonymous", authenticateMessage("", "", nil, ntlmUnicode), cred, "!anonymous"},
		{"short NTLMv2", authenticateMessage("Domain", "User", valid[:40], ntlmUnicode), cred, "!malformed"},
		{"OEM strings", authenticateMessage("Domain", "User", valid, 0), cred, "!Unicode"},
		{"truncated", authenticateMessage("Domain", "User", valid, ntlmUnicode)[:60], cred, "!too short"},
	}
	bad := authenticateMessage("Domain", "User", valid, ntlmUnicode)
	binary.LittleEndian.PutUint32(bad[24:], 1<<30) // NT response offset past the end
	tests = append(tests, struct {
		name string
		msg  []byte
		cred NTLMCredentials
		want string
	}{"field outside the message", bad, cred, "!outside"})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifyNTLMAuthenticate(tt.msg, nlmpExample.challenge, tt.cred)
			if want, isErr := strings.CutPrefix(tt.want, "!"); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
