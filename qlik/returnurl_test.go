package qlik

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		entry, scheme, want string // want "" means refused
	}{
		{"portal.corp.local", "https", "https://portal.corp.local:443"},
		{"Portal.Corp.Local", "http", "http://portal.corp.local:80"},
		{"portal.corp.local:8443", "https", "https://portal.corp.local:8443"},
		{"portal.corp.local:443", "https", "https://portal.corp.local:443"},
		{"http://portal.corp.local", "https", "http://portal.corp.local:80"},
		{"HTTPS://portal.corp.local:8443/", "http", "https://portal.corp.local:8443"},
		{"10.0.0.5:8080", "http", "http://10.0.0.5:8080"},
		{"[::1]:8443", "https", "https://[::1]:8443"},
		{"[0:0::1]", "https", "https://[::1]:443"},
		{"[::ffff:127.0.0.1]", "https", "https://[::ffff:127.0.0.1]:443"},
		{"xn--prtal-jua.example", "https", "https://xn--prtal-jua.example:443"},

		{"", "https", ""},
		{"*.corp.local", "https", ""},
		{"portal.corp.local/x", "https", ""},
		{"https://portal.corp.local/x", "https", ""},
		{"https://portal.corp.local?x", "https", ""},
		{"https://qlik@portal.corp.local", "https", ""},
		{"qlik@portal.corp.local", "https", ""},
		{"ftp://portal.corp.local", "https", ""},
		{"portal.corp.local:99999", "https", ""},
		{"portal.corp.local:0", "https", ""},
		{"portal.corp.local:x", "https", ""},
		{"pörtal.corp.local", "https", ""},
		{"portal%2ecorp.local", "https", ""},
		{"portal.corp.local.", "https", ""},
		{`portal\corp`, "https", ""},
	}
	for _, tt := range tests {
		got, err := ParseOrigin(tt.entry, tt.scheme)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseOrigin(%q, %s) = %q, want refused", tt.entry, tt.scheme, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseOrigin(%q, %s) = %q, %v; want %q", tt.entry, tt.scheme, got, err, tt.want)
		}
	}
}

func TestReturnRuleCheck(t *testing.T) {
	base, _ := url.Parse("https://qlik.corp.local/hub/")
	origins := Origins{}
	for _, o := range []string{"https://qlik.corp.local", "https://portal.corp.local:8443", "http://legacy.corp.local"} {
		if err := origins.AddURL(o); err != nil {
			t.Fatal(err)
		}
	}
	kept := ReturnRule{Origins: origins, Relative: RootedRelative, MaxLen: 100}
	resolved := ReturnRule{Origins: origins, Relative: AnyRelative, Base: base}
	absOnly := ReturnRule{Origins: origins}
	tests := []struct {
		name string
		rule ReturnRule
		in   string
		want string // "" means refused
	}{
		{"allowed origin", kept, "https://qlik.corp.local/hub/x?a=1#f", "https://qlik.corp.local/hub/x?a=1#f"},
		{"default port written out", kept, "https://qlik.corp.local:443/hub/", "https://qlik.corp.local:443/hub/"},
		{"upper-case scheme and host", kept, "HTTPS://QLIK.corp.local/", "https://QLIK.corp.local/"},
		{"explicit non-default port", kept, "https://portal.corp.local:8443/", "https://portal.corp.local:8443/"},
		{"http origin", kept, "http://legacy.corp.local/", "http://legacy.corp.local/"},
		{"http origin, port 80 written out", kept, "http://legacy.corp.local:80/", "http://legacy.corp.local:80/"},
		{"path kept as given", kept, `/QvAJAXZfc/opendoc.htm?document=a\b.qvw`, `/QvAJAXZfc/opendoc.htm?document=a\b.qvw`},
		{"path resolved", resolved, "/sense/app/1", "https://qlik.corp.local/sense/app/1"},
		{"path without slash resolved", resolved, "app/1", "https://qlik.corp.local/hub/app/1"},
		{"dot segments stay on the base", resolved, "/a/../../b", "https://qlik.corp.local/b"},

		{"downgrade", kept, "http://qlik.corp.local/hub/", ""},
		{"downgrade on port 443", kept, "http://qlik.corp.local:443/hub/", ""},
		{"downgrade with the port", kept, "http://portal.corp.local:8443/", ""},
		{"upgrade", kept, "https://legacy.corp.local/", ""},
		{"upgrade on port 80", kept, "https://legacy.corp.local:80/", ""},
		{"wrong port", kept, "https://qlik.corp.local:8443/", ""},
		{"port-only default of the other scheme", kept, "https://portal.corp.local/", ""},
		{"foreign host", kept, "https://evil.example/", ""},
		{"userinfo", kept, "https://qlik@evil.example/", ""},
		{"userinfo naming an allowed host", kept, "https://qlik.corp.local@evil.example/", ""},
		{"userinfo on an allowed host", kept, "https://qlik@qlik.corp.local/", ""},
		{"scheme-relative", kept, "//evil.example/", ""},
		{"scheme-relative, resolving rule", resolved, "//qlik.corp.local/", ""},
		{"slash backslash", kept, `/\evil.example/`, ""},
		{"https backslashes", kept, `https:\\evil.example`, ""},
		{"backslash in the authority", kept, `https://qlik.corp.local\@evil.example/`, ""},
		{"https without slashes", kept, "https:evil.example", ""},
		{"https with one slash", kept, "https:/evil.example", ""},
		{"https with three slashes", kept, "https:///evil.example", ""},
		{"encoded slashes", kept, "/%2f%2fevil.example", ""},
		{"double-encoded slashes", kept, "/%252F%252Fevil.example", ""},
		{"encoded backslash", kept, "/%5cevil.example", ""},
		{"dot segment to //", resolved, "/./%2Fevil.example", ""},
		{"double slash in an absolute path", kept, "https://qlik.corp.local//evil.example", ""},
		{"percent-encoded ASCII host", kept, "https://qlik%2Ecorp.local/", ""},
		{"percent-encoded Unicode host", kept, "https://%D0%B0.corp.local/", ""},
		{"Cyrillic look-alike", kept, "https://qlik.corp.lоcal/", ""},
		{"Kelvin sign", kept, "https://\u212Aqlik.corp.local/", ""},
		{"trailing dot", kept, "https://qlik.corp.local./", ""},
		{"tab browsers drop", kept, "/\t/evil.example", ""},
		{"newline", kept, "/a\r\nLocation: x", ""},
		{"leading space", kept, " https://qlik.corp.local/", ""},
		{"javascript", kept, "javascript:alert(1)", ""},
		{"relative without slash, rooted rule", kept, "hub/", ""},
		{"path, absolute-only rule", absOnly, "/hub/", ""},
		{"too long", kept, "/" + strings.Repeat("a", 100), ""},
		{"malformed escape", kept, "/%zz", ""},
		{"bad port", kept, "https://qlik.corp.local:99999/", ""},
		{"empty port", kept, "https://qlik.corp.local:/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rule.Check(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Check(%q) = %q, want refused", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Check(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzReturnRule: whatever Check accepts is a rooted path without // or a
// backslash before the query, or an absolute URL whose origin is allowed.
func FuzzReturnRule(f *testing.F) {
	for _, s := range []string{"/a", "https://qlik.corp.local/", "http://qlik.corp.local/", "//evil", `/\evil`, "https:evil", "https://q@qlik.corp.local/"} {
		f.Add(s)
	}
	origins := Origins{"https://qlik.corp.local:443": true}
	rule := ReturnRule{Origins: origins, Relative: RootedRelative}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := rule.Check(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q accepted as %q, which does not parse", raw, got)
		}
		if !u.IsAbs() {
			head, _, _ := strings.Cut(got, "?")
			head, _, _ = strings.Cut(head, "#")
			if !strings.HasPrefix(got, "/") || strings.Contains(head, "//") || strings.Contains(head, `\`) {
				t.Fatalf("%q accepted as path %q", raw, got)
			}
			return
		}
		if o, err := CanonicalOrigin(u); err != nil || !origins[o] {
			t.Fatalf("%q accepted on origin %q (%v)", raw, o, err)
		}
	})
}
