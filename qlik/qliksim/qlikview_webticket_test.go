package qliksim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestQVParseWebTicketRequest(t *testing.T) {
	wrap := func(inner string) string { return `<Global method="GetWebTicket">` + inner + `</Global>` }
	const user = `<UserId>jdoe</UserId>`
	tests := []struct {
		name string
		body string
		want QlikViewSession // checked when err == ""
		err  string
	}{
		{name: "full request", body: qvSimpleRequest,
			want: QlikViewSession{UserID: `CORP\jdoe`, Groups: []string{"Sales", "EU"}, GroupsAreNames: true}},
		{name: "no groups: the server looks them up", body: wrap(user),
			want: QlikViewSession{UserID: "jdoe"}},
		{name: "empty group list", body: wrap(user + `<GroupList/>`),
			want: QlikViewSession{UserID: "jdoe", Groups: []string{}}},
		{name: "SIDs", body: wrap(user + `<GroupList><string>S-1-5-21-1-2-3-513</string></GroupList><GroupsIsNames>false</GroupsIsNames>`),
			want: QlikViewSession{UserID: "jdoe", Groups: []string{"S-1-5-21-1-2-3-513"}}},
		{name: "declaration, padding and comments as samples send them",
			body: "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- c -->" + wrap("\n <UserId> jdoe </UserId>\n <GroupList><string> Sales</string></GroupList>\n <GroupsIsNames>True </GroupsIsNames>\n") + "\n<!-- end -->\n",
			want: QlikViewSession{UserID: "jdoe", Groups: []string{"Sales"}, GroupsAreNames: true}},
		{name: "escaped markup in a group stays one literal group",
			body: wrap(user + `<GroupList><string>&lt;/string&gt;&lt;string&gt;Admins</string></GroupList><GroupsIsNames>true</GroupsIsNames>`),
			want: QlikViewSession{UserID: "jdoe", Groups: []string{"</string><string>Admins"}, GroupsAreNames: true}},
		{name: "escaped backslash user and ampersand group",
			body: wrap(`<UserId>CORP\j&amp;doe</UserId><GroupList><string>R&amp;D</string></GroupList><GroupsIsNames>true</GroupsIsNames>`),
			want: QlikViewSession{UserID: `CORP\j&doe`, Groups: []string{"R&D"}, GroupsAreNames: true}},

		{name: "not XML", body: "user=jdoe", err: "text before the root element"},
		{name: "empty body", body: "", err: "malformed XML"},
		{name: "unclosed", body: `<Global method="GetWebTicket"><UserId>jdoe</UserId>`, err: "malformed XML"},
		{name: "wrong root", body: `<Request method="GetWebTicket"><UserId>jdoe</UserId></Request>`, err: "want <Global>"},
		{name: "wrong method", body: `<Global method="GetTicket"><UserId>jdoe</UserId></Global>`, err: `method="GetWebTicket"`},
		{name: "method in other case", body: `<Global method="getwebticket"><UserId>jdoe</UserId></Global>`, err: `method="GetWebTicket"`},
		{name: "no method", body: `<Global><UserId>jdoe</UserId></Global>`, err: `method="GetWebTicket"`},
		{name: "extra attribute", body: `<Global method="GetWebTicket" x="1"><UserId>jdoe</UserId></Global>`, err: `exactly method`},
		{name: "missing UserId", body: wrap(`<GroupList/>`), err: "<UserId> missing or empty"},
		{name: "empty UserId", body: wrap(`<UserId></UserId>`), err: "<UserId> missing or empty"},
		{name: "blank UserId", body: wrap(`<UserId>  </UserId>`), err: "<UserId> missing or empty"},
		{name: "UserId twice", body: wrap(user + user), err: "given twice"},
		{name: "element inside UserId", body: wrap(`<UserId>j<b>doe</b></UserId>`), err: "inside text"},
		{name: "documentation misspelling GroupIsNames",
			body: wrap(user + `<GroupList><string>Sales</string></GroupList><GroupIsNames>true</GroupIsNames>`), err: "spelled GroupsIsNames"},
		{name: "groups without GroupsIsNames", body: wrap(user + `<GroupList><string>Sales</string></GroupList>`), err: "without <GroupsIsNames>"},
		{name: "GroupsIsNames not a boolean", body: wrap(user + `<GroupsIsNames>yes</GroupsIsNames>`), err: "want true or false"},
		{name: "unknown element", body: wrap(user + `<Groups>Sales</Groups>`), err: "unexpected element <Groups>"},
		{name: "<string> nested in <string>",
			body: wrap(user + `<GroupList><string>a<string>Admins</string></string></GroupList><GroupsIsNames>true</GroupsIsNames>`), err: "inside text"},
		{name: "wrong child in GroupList", body: wrap(user + `<GroupList><group>Sales</group></GroupList>`), err: "want <string>"},
		{name: "empty group", body: wrap(user + `<GroupList><string> </string></GroupList><GroupsIsNames>true</GroupsIsNames>`), err: "group 1 is empty"},
		{name: "text in Global", body: wrap(user + `stray`), err: "text directly inside <Global>"},
		{name: "text in GroupList", body: wrap(user + `<GroupList>Sales</GroupList>`), err: "text directly inside <GroupList>"},
		{name: "DTD", body: `<!DOCTYPE Global [<!ENTITY x "y">]>` + wrap(user), err: "DTDs"},
		{name: "second root", body: wrap(user) + wrap(user), err: "content after the root element"},
		{name: "text after root", body: wrap(user) + "x", err: "text after the root element"},
		{name: "namespaced element", body: wrap(`<q:UserId xmlns:q="urn:x">jdoe</q:UserId>`), err: "namespace"},
		{name: "undefined entity", body: wrap(`<UserId>&nbsp;jdoe</UserId>`), err: "malformed XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWebTicketRequest([]byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %+v, %v; want error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.UserID != tt.want.UserID || !slices.Equal(got.Groups, tt.want.Groups) || got.GroupsAreNames != tt.want.GroupsAreNames {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestQVGetWebTicketTrust(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		ok      bool
	}{
		{name: "no TrustedIP entries (the default)", trusted: nil},
		{name: "another address", trusted: []string{"10.0.0.5"}},
		{name: "::1 does not trust 127.0.0.1", trusted: []string{"::1"}},
		{name: "127.0.0.1 listed", trusted: []string{"10.0.0.5", "127.0.0.1"}, ok: true},
		{name: "IPv4-mapped form of 127.0.0.1", trusted: []string{"::ffff:127.0.0.1"}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := newQV(t, QlikViewOptions{TrustedIPs: tt.trusted})
			r := do(t, qvClient(t), http.MethodPost, q.WebTicketURL(), qvSimpleRequest, nil)
			if tt.ok {
				if qvTicketRE.FindStringSubmatch(r.body) == nil || r.status != http.StatusOK {
					t.Fatalf("got %d %q, want a ticket", r.status, r.body)
				}
				if st := q.Stats(); st.TicketsIssued != 1 || st.InvalidCalls != 0 {
					t.Fatalf("stats %+v", st)
				}
				return
			}
			qvExpectInvalidCall(t, r)
			if st := q.Stats(); st.TicketsIssued != 0 || st.InvalidCalls != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestQVGetWebTicketHTTP(t *testing.T) {
	q, _ := newQV(t, QlikViewOptions{TrustedIPs: []string{"127.0.0.1"}})
	c := qvClient(t)

	t.Run("GET is an invalid call", func(t *testing.T) {
		qvExpectInvalidCall(t, do(t, c, http.MethodGet, q.WebTicketURL(), "", nil))
	})
	t.Run("malformed body is an invalid call", func(t *testing.T) {
		qvExpectInvalidCall(t, do(t, c, http.MethodPost, q.WebTicketURL(), "<Global>", nil))
	})
	t.Run("oversized body is an invalid call", func(t *testing.T) {
		big := `<Global method="GetWebTicket"><UserId>jdoe</UserId><!--` + strings.Repeat("x", qvMaxBody) + `--></Global>`
		qvExpectInvalidCall(t, do(t, c, http.MethodPost, q.WebTicketURL(), big, nil))
	})
	t.Run("path in lower case, as the documentation writes it", func(t *testing.T) {
		r := do(t, c, http.MethodPost, strings.ToLower(q.WebTicketURL()), qvSimpleRequest, nil)
		if qvTicketRE.FindStringSubmatch(r.body) == nil {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	})
	t.Run("tickets are distinct", func(t *testing.T) {
		a, b := qvGetTicket(t, q, c, qvSimpleRequest), qvGetTicket(t, q, c, qvSimpleRequest)
		if a == b {
			t.Fatalf("two requests got the same ticket %s", a)
		}
	})
	t.Run("SetTrustedIPs applies at once", func(t *testing.T) {
		if err := q.SetTrustedIPs([]string{"10.1.1.1"}); err != nil {
			t.Fatal(err)
		}
		qvExpectInvalidCall(t, do(t, c, http.MethodPost, q.WebTicketURL(), qvSimpleRequest, nil))
		if err := q.SetTrustedIPs([]string{"not-an-ip"}); err == nil {
			t.Fatal("SetTrustedIPs accepted a bad address")
		}
		if err := q.SetTrustedIPs([]string{"127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		qvGetTicket(t, q, c, qvSimpleRequest)
	})
}

func TestQVOptions(t *testing.T) {
	if _, err := NewQlikView(QlikViewOptions{TrustedIPs: []string{"127.0.0.1/8"}}); err == nil {
		t.Error("a CIDR range was accepted as a TrustedIP")
	}
	if _, err := NewQlikView(QlikViewOptions{Credentials: &NTLMCredentials{Username: "svc"}}); err == nil {
		t.Error("credentials without a password were accepted")
	}
}
