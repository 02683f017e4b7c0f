package qlikview

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
)

func entryTarget(t testing.TB) *WebTicketTarget {
	t.Helper()
	return entryTargetFor(t, testWebTicketURL, "portal.corp.local", "Intranet.corp.local:8443", "http://legacy.corp.local:8080")
}

func entryTargetFor(t testing.TB, webTicketURL string, allowed ...string) *WebTicketTarget {
	t.Helper()
	c := DefaultConfig()
	c.WebTicketURL = webTicketURL
	c.AllowedReturnHosts = allowed
	tg, err := Open(context.Background(), qlik.Common{ID: "qv"}, c, qlik.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestParseEntry(t *testing.T) {
	https := entryTarget(t)
	// A QlikView server reached over plain http, on a port of its own.
	http := entryTargetFor(t, "http://qv.corp.local:8080/QvAJAXZfc/GetWebTicket.aspx", "portal.corp.local")
	tests := []struct {
		name, query, want string
		tg                *WebTicketTarget // default: https
		bad               bool
	}{
		{name: "no parameters (what AccessPoint sends)", query: ""},
		{name: "unrelated parameters", query: "lang=de"},
		{name: "empty try", query: "try="},
		{name: "path", query: "try=%2FQlikView%2F", want: "/QlikView/"},
		{name: "opendoc with a backslash in the document", query: "try=" + url.QueryEscape(`/QvAJAXZfc/opendoc.htm?document=Sales\Dash.qvw`),
			want: `/QvAJAXZfc/opendoc.htm?document=Sales\Dash.qvw`},
		{name: "returnto", query: "returnto=%2FQlikView%2F", want: "/QlikView/"},
		{name: "both, equal", query: "try=%2Fa&returnto=%2Fa", want: "/a"},
		{name: "the QlikView host", query: "try=" + url.QueryEscape("https://qv.corp.local/QlikView/"), want: "https://qv.corp.local/QlikView/"},
		{name: "the QlikView host in upper case", query: "try=" + url.QueryEscape("https://QV.corp.local/QlikView/"), want: "https://QV.corp.local/QlikView/"},
		{name: "the QlikView host, upper-case scheme", query: "try=" + url.QueryEscape("HTTPS://qv.corp.local/QlikView/"), want: "https://qv.corp.local/QlikView/"},
		{name: "the QlikView host with its default port written out", query: "try=" + url.QueryEscape("https://qv.corp.local:443/QlikView/"), want: "https://qv.corp.local:443/QlikView/"},
		{name: "allowlisted host takes the server's scheme and default port", query: "try=" + url.QueryEscape("https://portal.corp.local/x"), want: "https://portal.corp.local/x"},
		{name: "allowlisted host, default port written out", query: "try=" + url.QueryEscape("https://portal.corp.local:443/x"), want: "https://portal.corp.local:443/x"},
		{name: "allowlisted host:port", query: "try=" + url.QueryEscape("https://intranet.corp.local:8443/qv"), want: "https://intranet.corp.local:8443/qv"},
		{name: "allowlisted http origin", query: "try=" + url.QueryEscape("http://legacy.corp.local:8080/qv"), want: "http://legacy.corp.local:8080/qv"},
		{name: "http server: its own origin", tg: http, query: "try=" + url.QueryEscape("http://qv.corp.local:8080/QlikView/"), want: "http://qv.corp.local:8080/QlikView/"},
		{name: "http server: allowlisted host over http", tg: http, query: "try=" + url.QueryEscape("http://portal.corp.local/x"), want: "http://portal.corp.local/x"},
		{name: "http server: allowlisted host, port 80 written out", tg: http, query: "try=" + url.QueryEscape("http://portal.corp.local:80/x"), want: "http://portal.corp.local:80/x"},

		{name: "downgrade: the https server over http", query: "try=" + url.QueryEscape("http://qv.corp.local/QlikView/"), bad: true},
		{name: "downgrade: the https server over http on 443", query: "try=" + url.QueryEscape("http://qv.corp.local:443/QlikView/"), bad: true},
		{name: "downgrade: allowlisted host over http", query: "try=" + url.QueryEscape("http://portal.corp.local/x"), bad: true},
		{name: "downgrade: allowlisted host:port over http", query: "try=" + url.QueryEscape("http://intranet.corp.local:8443/qv"), bad: true},
		{name: "upgrade: the http server over https", tg: http, query: "try=" + url.QueryEscape("https://qv.corp.local:8080/QlikView/"), bad: true},
		{name: "upgrade: allowlisted host over https", tg: http, query: "try=" + url.QueryEscape("https://portal.corp.local/x"), bad: true},
		{name: "upgrade: allowlisted http origin over https", query: "try=" + url.QueryEscape("https://legacy.corp.local:8080/qv"), bad: true},
		{name: "foreign host", query: "try=" + url.QueryEscape("https://evil.example/"), bad: true},
		{name: "allowlisted host on another port", query: "try=" + url.QueryEscape("https://portal.corp.local:81/x"), bad: true},
		{name: "allowlisted host:port on the default port", query: "try=" + url.QueryEscape("https://intranet.corp.local/qv"), bad: true},
		{name: "QlikView host on another port", query: "try=" + url.QueryEscape("https://qv.corp.local:8443/"), bad: true},
		{name: "http server on its default port instead of its own", tg: http, query: "try=" + url.QueryEscape("http://qv.corp.local/"), bad: true},
		{name: "suffix look-alike", query: "try=" + url.QueryEscape("https://qv.corp.local.evil.example/"), bad: true},
		{name: "trailing dot", query: "try=" + url.QueryEscape("https://qv.corp.local./"), bad: true},
		{name: "scheme-relative", query: "try=" + url.QueryEscape("//evil.example/"), bad: true},
		{name: "slash-backslash", query: "try=" + url.QueryEscape(`/\evil.example/`), bad: true},
		{name: "https backslashes", query: "try=" + url.QueryEscape(`https:\\evil.example/`), bad: true},
		{name: "backslash after the host", query: "try=" + url.QueryEscape(`https://qv.corp.local\@evil.example/`), bad: true},
		{name: "https without slashes", query: "try=" + url.QueryEscape("https:evil.example"), bad: true},
		{name: "https with one slash", query: "try=" + url.QueryEscape("https:/evil.example"), bad: true},
		{name: "encoded double slash", query: "try=" + url.QueryEscape("/%2F%2Fevil.example/"), bad: true},
		{name: "double-encoded double slash", query: "try=" + url.QueryEscape("/%252f%252fevil.example/"), bad: true},
		{name: "tab that browsers drop", query: "try=" + url.QueryEscape("/\t/evil.example/"), bad: true},
		{name: "relative without slash", query: "try=QlikView", bad: true},
		{name: "javascript", query: "try=" + url.QueryEscape("javascript:alert(1)"), bad: true},
		{name: "user info trick", query: "try=" + url.QueryEscape("https://portal.corp.local@evil.example/"), bad: true},
		{name: "user info naming the server itself", query: "try=" + url.QueryEscape("https://qlik@qv.corp.local/"), bad: true},
		{name: "percent-encoded host", query: "try=" + url.QueryEscape("https://qv%2Ecorp.local/"), bad: true},
		{name: "percent-encoded Unicode host", query: "try=" + url.QueryEscape("https://%D0%B0v.corp.local/"), bad: true},
		{name: "Unicode look-alike host (Cyrillic a)", query: "try=" + url.QueryEscape("https://port\u0430l.corp.local/"), bad: true},
		{name: "Kelvin sign, which lower-cases to k", query: "try=" + url.QueryEscape("https://qv.corp.\u212Aocal/"), bad: true},
		{name: "too long", query: "try=%2F" + strings.Repeat("a", maxReturnLen), bad: true},
		{name: "try twice", query: "try=%2Fa&try=%2Fb", bad: true},
		{name: "try and returnto differ", query: "try=%2Fa&returnto=%2Fb", bad: true},
		{name: "returnto downgraded", query: "returnto=" + url.QueryEscape("http://qv.corp.local/QlikView/"), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			tg := tt.tg
			if tg == nil {
				tg = https
			}
			e, err := tg.ParseEntry(q)
			if tt.bad {
				if !errors.Is(err, qlik.ErrBadEntry) {
					t.Fatalf("got %+v, %v; want ErrBadEntry", e, err)
				}
				return
			}
			if err != nil || e != (qlik.Entry{ReturnTo: tt.want}) {
				t.Fatalf("got %+v, %v; want ReturnTo %q", e, err, tt.want)
			}
		})
	}
}
