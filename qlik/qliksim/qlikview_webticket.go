package qliksim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// qvMaxBody caps GetWebTicket and AccessPoint bodies; a ticket request with
// hundreds of groups is still far below it.
const qvMaxBody = 64 << 10

// invalidCallBody is every GetWebTicket refusal. The real body and status
// are undocumented (contract §2.1, §6); the evidence is that clients match
// "Invalid call" in a body they read after a successful HTTP status (the
// .NET samples use HttpWebRequest, which throws on 4xx/5xx before that
// check), and one sample looks for it inside _retval_. So the simulator
// answers 200 with the text in _retval_: a client that trusts the status,
// or takes whatever _retval_ holds as a ticket, fails here.
const invalidCallBody = "<Global><_retval_>Invalid call</_retval_></Global>"

// serveGetWebTicket is POST /QvAJAXZfc/GetWebTicket.aspx (contract §2.1,
// §2.2): trust first (IP allow list, else NTLM when credentials are set),
// then the strictly parsed request, then a 40-character ticket.
func (q *QlikView) serveGetWebTicket(w http.ResponseWriter, r *http.Request) {
	// Read the body before anything else: an NTLM 401 must leave the
	// connection reusable, and the handshake's state lives on it.
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, qvMaxBody))
	if !q.ipTrusted(r) {
		if q.opts.Credentials == nil {
			q.invalidCall(w, r, "the caller's address is not a TrustedIP")
			return
		}
		if _, ok := q.ntlmAuthenticate(w, r); !ok {
			return // 401 written
		}
	}
	if r.Method != http.MethodPost {
		q.invalidCall(w, r, "method "+r.Method+", want POST")
		return
	}
	if readErr != nil {
		q.invalidCall(w, r, "unreadable body: "+readErr.Error())
		return
	}
	sess, err := parseWebTicketRequest(body)
	if err != nil {
		q.invalidCall(w, r, err.Error())
		return
	}
	tk, err := newWebTicket()
	if err != nil {
		q.logf("GetWebTicket: %v", err)
		plainError(w, http.StatusInternalServerError, "internal error")
		return
	}
	q.mu.Lock()
	now := q.opts.Now()
	q.pruneTickets()
	q.tickets[tk] = &qvTicket{session: sess, expires: now.Add(q.opts.TicketTTL)}
	q.mu.Unlock()
	q.stats.issued.Add(1)
	q.logf("GetWebTicket: ticket %s for %q, %d groups (names: %v)", redact(tk), sess.UserID, len(sess.Groups), sess.GroupsAreNames)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "<Global><_retval_>"+tk+"</_retval_></Global>")
}

func (q *QlikView) invalidCall(w http.ResponseWriter, r *http.Request, reason string) {
	q.stats.invalid.Add(1)
	q.logf("GetWebTicket: %s %s from %s: Invalid call: %s", r.Method, r.URL.Path, r.RemoteAddr, reason)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, invalidCallBody)
}

// ipTrusted compares the source address with the TrustedIP entries one by
// one, as config.xml does: an IPv4-mapped IPv6 address counts as IPv4,
// but ::1 is not 127.0.0.1 (the pitfall the qv-webticket README warns of).
func (q *QlikView) ipTrusted(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range q.trusted {
		if t == ip {
			return true
		}
	}
	return false
}

// newWebTicket returns 40 upper-case hex characters (160 random bits): the
// length qlik-auth insists on, "random bytes rendered as text" (§2.1).
func newWebTicket() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate web ticket: %w", err)
	}
	return strings.ToUpper(hex.EncodeToString(b[:])), nil
}

// pruneTickets drops expired tickets; q.mu must be held.
func (q *QlikView) pruneTickets() {
	now := q.opts.Now()
	for k, t := range q.tickets {
		if !now.Before(t.expires) {
			delete(q.tickets, k)
		}
	}
}

// parseWebTicketRequest reads
//
//	<Global method="GetWebTicket"><UserId>…</UserId>
//	  <GroupList><string>…</string>…</GroupList><GroupsIsNames>true</GroupsIsNames></Global>
//
// by walking tokens, so that anything else is refused rather than ignored:
// an unknown element (the documentation's misspelling GroupIsNames above
// all), a repeated one, a nested element inside text, a DTD, text or a
// second element after the root. Text is trimmed, as the .NET samples pad
// group names with spaces.
func parseWebTicketRequest(body []byte) (QlikViewSession, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	root, err := qvRoot(dec)
	if err != nil {
		return QlikViewSession{}, err
	}
	if root.Name.Space != "" || root.Name.Local != "Global" {
		return QlikViewSession{}, fmt.Errorf("root element <%s>, want <Global>", root.Name.Local)
	}
	if len(root.Attr) != 1 || root.Attr[0].Name.Space != "" || root.Attr[0].Name.Local != "method" || root.Attr[0].Value != "GetWebTicket" {
		return QlikViewSession{}, errors.New(`<Global> must carry exactly method="GetWebTicket"`)
	}
	var (
		sess                            QlikViewSession
		seenUser, seenList, seenIsNames bool
	)
	duplicate := func(name string) error { return fmt.Errorf("element <%s> given twice", name) }
	for {
		tok, err := dec.Token()
		if err != nil {
			return QlikViewSession{}, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" || len(t.Attr) != 0 {
				return QlikViewSession{}, fmt.Errorf("element <%s> must have no namespace or attributes", t.Name.Local)
			}
			switch t.Name.Local {
			case "UserId":
				if seenUser {
					return QlikViewSession{}, duplicate("UserId")
				}
				seenUser = true
				if sess.UserID, err = qvText(dec); err != nil {
					return QlikViewSession{}, fmt.Errorf("<UserId>: %w", err)
				}
			case "GroupList":
				if seenList {
					return QlikViewSession{}, duplicate("GroupList")
				}
				seenList = true
				if sess.Groups, err = qvGroupList(dec); err != nil {
					return QlikViewSession{}, fmt.Errorf("<GroupList>: %w", err)
				}
			case "GroupsIsNames":
				if seenIsNames {
					return QlikViewSession{}, duplicate("GroupsIsNames")
				}
				seenIsNames = true
				v, err := qvText(dec)
				if err != nil {
					return QlikViewSession{}, fmt.Errorf("<GroupsIsNames>: %w", err)
				}
				switch strings.ToLower(v) { // .NET's bool.Parse ignores case
				case "true":
					sess.GroupsAreNames = true
				case "false":
				default:
					return QlikViewSession{}, fmt.Errorf("<GroupsIsNames> is %q, want true or false", v)
				}
			case "GroupIsNames":
				return QlikViewSession{}, errors.New("unexpected element <GroupIsNames>: the element is spelled GroupsIsNames (the documentation's prose is wrong)")
			default:
				return QlikViewSession{}, fmt.Errorf("unexpected element <%s>; <Global> takes UserId, GroupList and GroupsIsNames", t.Name.Local)
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return QlikViewSession{}, errors.New("text directly inside <Global>")
			}
		case xml.EndElement:
			if sess.UserID == "" {
				return QlikViewSession{}, errors.New("<UserId> missing or empty")
			}
			if len(sess.Groups) > 0 && !seenIsNames {
				// The real default is undocumented; guessing wrong would
				// read names as SIDs, so a client must say which it sends.
				return QlikViewSession{}, errors.New("<GroupList> without <GroupsIsNames>")
			}
			return sess, qvEnd(dec)
		case xml.Directive:
			return QlikViewSession{}, errors.New("DTDs and other directives are not accepted")
		}
	}
}

// qvRoot skips the prolog (XML declaration, comments, white space) and
// returns the root element. A DOCTYPE is refused.
func qvRoot(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, errors.New("text before the root element")
			}
		case xml.Directive:
			return xml.StartElement{}, errors.New("DTDs and other directives are not accepted")
		}
	}
}

// qvEnd requires nothing but white space, comments and processing
// instructions after the root element.
func qvEnd(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("malformed XML after the root element: %w", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errors.New("text after the root element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("content after the root element")
		}
	}
}

// qvText reads the text of the element just opened, up to its end tag,
// trimmed. A child element is refused: a group name that smuggles in
// markup must arrive escaped, as text.
func qvText(dec *xml.Decoder) (string, error) {
	var sb strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.StartElement:
			return "", fmt.Errorf("unexpected element <%s> inside text", t.Name.Local)
		case xml.EndElement:
			return strings.TrimSpace(sb.String()), nil
		}
	}
}

// qvGroupList reads <string> children until </GroupList>. Empty names are
// refused: they would match nothing and hide a client bug.
func qvGroupList(dec *xml.Decoder) ([]string, error) {
	groups := []string{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" || t.Name.Local != "string" || len(t.Attr) != 0 {
				return nil, fmt.Errorf("unexpected element <%s>, want <string>", t.Name.Local)
			}
			g, err := qvText(dec)
			if err != nil {
				return nil, fmt.Errorf("<string>: %w", err)
			}
			if g == "" {
				return nil, fmt.Errorf("group %d is empty", len(groups)+1)
			}
			groups = append(groups, g)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errors.New("text directly inside <GroupList>")
			}
		case xml.EndElement:
			return groups, nil
		}
	}
}
