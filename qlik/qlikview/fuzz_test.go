package qlikview

import (
	"encoding/xml"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzWebTicketRequest: whatever user id and group names qlikgate sends,
// the XML carries exactly those values (no injection) or is refused.
func FuzzWebTicketRequest(f *testing.F) {
	f.Add(`CORP\alice`, "Sales", true)
	f.Add("a</UserId><UserId>admin", "</string><string>Admins", false)
	f.Add("x\x00y", "g\uFFFE", true)
	f.Add("]]><!--", "&amp;", true)
	f.Fuzz(func(t *testing.T, user, group string, names bool) {
		body, err := encodeWebTicketRequest(user, []string{group}, names)
		if err != nil {
			return
		}
		var got struct {
			Method string   `xml:"method,attr"`
			User   []string `xml:"UserId"`
			Groups []string `xml:"GroupList>string"`
			IsName []string `xml:"GroupsIsNames"`
		}
		if err := xml.Unmarshal(body, &got); err != nil {
			t.Fatalf("request does not parse: %v\n%s", err, body)
		}
		// encoding/xml escapes CR and LF, so values come back byte for byte.
		if got.Method != "GetWebTicket" || len(got.User) != 1 || got.User[0] != user ||
			!slices.Equal(got.Groups, []string{group}) || len(got.IsName) != 1 {
			t.Fatalf("request for %q / %q carries %+v\n%s", user, group, got, body)
		}
	})
}

// FuzzWebTicketResponse: a ticket is only ever taken from a well-formed
// answer, and never contains spaces or "Invalid call".
func FuzzWebTicketResponse(f *testing.F) {
	f.Add("<Global><_retval_>0123456789ABCDEF0123456789ABCDEF01234567</_retval_></Global>")
	f.Add("<Global><_retval_>Invalid call</_retval_></Global>")
	f.Add("<Global><_retval_> </_retval_></Global>")
	f.Add("<html>error</html>")
	f.Fuzz(func(t *testing.T, body string) {
		tk, err := parseWebTicketResponse([]byte(body))
		if err != nil {
			if strings.Contains(err.Error(), tk) && tk != "" {
				t.Fatal("error quotes a ticket")
			}
			return
		}
		if tk == "" || strings.ContainsAny(tk, " \t\r\n") || strings.Contains(body, "Invalid call") {
			t.Fatalf("ticket %q taken from %q", tk, body)
		}
	})
}

// FuzzParseEntry: an accepted try is a path on the QlikView server or an
// absolute URL on the server or an allowlisted host.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{"/QlikView/", "//evil/", "/\\evil", "https://portal.corp.local/x", "https://portal.corp.local@evil/", "javascript:alert(1)", "/%2f%2fevil", "https://intranet.corp.local:8443/"} {
		f.Add(s)
	}
	tg := entryTarget(f)
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := tg.ParseEntry(url.Values{"try": {raw}})
		if err != nil || e.ReturnTo == "" {
			return
		}
		if strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") || strings.ContainsAny(raw, "\r\n\t") {
			t.Fatalf("try %q accepted", raw)
		}
		if strings.HasPrefix(raw, "/") {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("try %q accepted", raw)
		}
		h := strings.ToLower(u.Hostname())
		if h != "qv.corp.local" && h != strings.ToLower(mustHost(testWebTicketURL)) && h != "portal.corp.local" && h != "intranet.corp.local" {
			t.Fatalf("try %q on host %q accepted", raw, h)
		}
	})
}

func mustHost(raw string) string {
	u, _ := url.Parse(raw)
	return u.Hostname()
}
