package cloud

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

func TestParseEntryReturnTo(t *testing.T) {
	const tenant = "https://acme.eu.qlikcloud.com"
	cfg := testConfig(t, tenant, RS256)
	cfg.AllowedReturnHosts = []string{"portal.acme.com", "qlik.acme.com:8443", "https://apps.acme.com"}
	tg := openTarget(t, cfg, time.Now())
	tests := []struct {
		name, in, want string // want "" means refused
	}{
		{"tenant root", tenant + "/", tenant + "/"},
		{"tenant deep link", tenant + "/sense/app/0d3e/sheet/1?x=a%20b#frag", tenant + "/sense/app/0d3e/sheet/1?x=a%20b#frag"},
		{"tenant, explicit port 443", "https://acme.eu.qlikcloud.com:443/hub", "https://acme.eu.qlikcloud.com:443/hub"},
		{"tenant, upper-case", "HTTPS://ACME.EU.QLIKCLOUD.COM/hub", "https://ACME.EU.QLIKCLOUD.COM/hub"},
		{"allowlisted host", "https://portal.acme.com/analytics", "https://portal.acme.com/analytics"},
		{"allowlisted host with port", "https://qlik.acme.com:8443/x", "https://qlik.acme.com:8443/x"},
		{"relative path", "/explore/spaces?q=1", tenant + "/explore/spaces?q=1"},
		{"relative without slash (Qlik's example)", "automations/editor/fef1ba5f", tenant + "/automations/editor/fef1ba5f"},
		{"dot segments stay on the tenant", "/a/../../b", tenant + "/b"},
		{"encoded single slash is fine", "/sense/app/a%2Fb", tenant + "/sense/app/a%2Fb"},

		{"allowlisted https origin", "https://apps.acme.com/x", "https://apps.acme.com/x"},
		{"allowlisted host, port 443 written out", "https://portal.acme.com:443/x", "https://portal.acme.com:443/x"},

		{"http", "http://acme.eu.qlikcloud.com/", ""},
		{"downgrade on 443", "http://acme.eu.qlikcloud.com:443/", ""},
		{"downgrade of an allowlisted host", "http://portal.acme.com/x", ""},
		{"downgrade of an allowlisted host:port", "http://qlik.acme.com:8443/x", ""},
		{"downgrade of an allowlisted origin", "http://apps.acme.com/x", ""},
		{"userinfo on the tenant", "https://qlik@acme.eu.qlikcloud.com/", ""},
		{"percent-encoded host", "https://acme%2Eeu.qlikcloud.com/", ""},
		{"percent-encoded Unicode host", "https://%D0%B0cme.eu.qlikcloud.com/", ""},
		{"Kelvin sign", "https://\u212Aacme.eu.qlikcloud.com/", ""},
		{"https with one slash", "https:/evil.example", ""},
		{"backslash in the authority", `https://acme.eu.qlikcloud.com\@evil.example/`, ""},
		{"other port on the tenant", "https://acme.eu.qlikcloud.com:8443/", ""},
		{"allowlisted host on another port", "https://portal.acme.com:8443/", ""},
		{"allowlisted host:port on 443", "https://qlik.acme.com/", ""},
		{"foreign host", "https://evil.example/", ""},
		{"suffix look-alike", "https://acme.eu.qlikcloud.com.evil.example/", ""},
		{"prefix look-alike", "https://evilacme.eu.qlikcloud.com/", ""},
		{"trailing dot", "https://acme.eu.qlikcloud.com./", ""},
		{"userinfo", "https://acme.eu.qlikcloud.com@evil.example/", ""},
		{"userinfo with the tenant as user", "https://acme.eu.qlikcloud.com:443@evil.example/", ""},
		{"encoded @ in host", "https://acme.eu.qlikcloud.com%40evil.example/", ""},
		{"Cyrillic look-alike", "https://аcme.eu.qlikcloud.com/", ""},
		{"punycode look-alike", "https://xn--cme-8cd.eu.qlikcloud.com/", ""},
		{"scheme-relative", "//evil.example/", ""},
		{"triple slash", "///evil.example/", ""},
		{"slash backslash", `/\evil.example/`, ""},
		{"backslash only", `\\evil.example`, ""},
		{"https backslash", `https:\\evil.example`, ""},
		{"encoded double slash", "/%2f%2fevil.example", ""},
		{"encoded double slash, upper", "/%2F%2Fevil.example", ""},
		{"encoded double slash, relative", "%2f%2fevil.example", ""},
		{"double-encoded double slash", "/%252f%252fevil.example", ""},
		{"encoded backslash", "/%5cevil.example", ""},
		{"absolute with encoded double slash", tenant + "/%2f%2fevil.example", ""},
		{"absolute double slash path", tenant + "//evil.example", ""},
		{"opaque https", "https:evil.example", ""},
		{"javascript", "javascript:alert(1)", ""},
		{"data", "data:text/html,hi", ""},
		{"tab inside scheme", "java\tscript:alert(1)", ""},
		{"leading space", " https://evil.example/", ""},
		{"newline", "/hub\nLocation: x", ""},
		{"malformed escape", "/%zz", ""},
		{"too long", "/" + strings.Repeat("a", maxReturnTo), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tg.ParseEntry(url.Values{"returnto": {tt.in}})
			if tt.want == "" {
				if err == nil || !errors.Is(err, qlik.ErrBadEntry) {
					t.Fatalf("ParseEntry(%q) = %+v, %v; want ErrBadEntry", tt.in, e, err)
				}
				return
			}
			if err != nil || e.ReturnTo != tt.want {
				t.Fatalf("ParseEntry(%q) = %q, %v; want %q", tt.in, e.ReturnTo, err, tt.want)
			}
		})
	}
	if e, err := tg.ParseEntry(url.Values{"targetId": {"ignored"}}); err != nil || e != (qlik.Entry{}) {
		t.Errorf("no returnto: %+v, %v", e, err)
	}
}

// A returnto stored in a session before the allowlist shrank is checked
// again at login and replaced by the tenant root.
func TestStoredReturnToIsRechecked(t *testing.T) {
	cfg := testConfig(t, "https://acme.eu.qlikcloud.com", RS256)
	tg := openTarget(t, cfg, time.Now())
	h, err := tg.Login(context.Background(), testUser, qlik.Entry{ReturnTo: "https://portal.acme.com/x"})
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, pageData(t, h), DataReturnTo); got != "https://acme.eu.qlikcloud.com/" {
		t.Errorf("returnTo %q, want the tenant root", got)
	}
}
