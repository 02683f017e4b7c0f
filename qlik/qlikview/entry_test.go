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
	c := DefaultConfig()
	c.WebTicketURL = testWebTicketURL
	c.AllowedReturnHosts = []string{"portal.corp.local", "Intranet.corp.local:8443"}
	tg, err := Open(context.Background(), qlik.Common{ID: "qv"}, c, qlik.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestParseEntry(t *testing.T) {
	tg := entryTarget(t)
	tests := []struct {
		name, query, want string
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
		{name: "allowlisted host, any port", query: "try=" + url.QueryEscape("http://portal.corp.local:81/x"), want: "http://portal.corp.local:81/x"},
		{name: "allowlisted host:port", query: "try=" + url.QueryEscape("https://intranet.corp.local:8443/qv"), want: "https://intranet.corp.local:8443/qv"},

		{name: "foreign host", query: "try=" + url.QueryEscape("https://evil.example/"), bad: true},
		{name: "allowlisted host on another port", query: "try=" + url.QueryEscape("https://intranet.corp.local/qv"), bad: true},
		{name: "QlikView host on another port", query: "try=" + url.QueryEscape("https://qv.corp.local:8443/"), bad: true},
		{name: "scheme-relative", query: "try=" + url.QueryEscape("//evil.example/"), bad: true},
		{name: "slash-backslash", query: "try=" + url.QueryEscape(`/\evil.example/`), bad: true},
		{name: "tab that browsers drop", query: "try=" + url.QueryEscape("/\t/evil.example/"), bad: true},
		{name: "relative without slash", query: "try=QlikView", bad: true},
		{name: "javascript", query: "try=" + url.QueryEscape("javascript:alert(1)"), bad: true},
		{name: "user info trick", query: "try=" + url.QueryEscape("https://portal.corp.local@evil.example/"), bad: true},
		{name: "too long", query: "try=%2F" + strings.Repeat("a", maxReturnLen), bad: true},
		{name: "try twice", query: "try=%2Fa&try=%2Fb", bad: true},
		{name: "try and returnto differ", query: "try=%2Fa&returnto=%2Fb", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
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
