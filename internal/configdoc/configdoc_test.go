package configdoc

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeModule lays out a module of Go files in a temporary directory.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/m\n\ngo 1.22\n"
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const samplePkg = `package a

import (
	"time"

	"example.com/m/b"
)

// Root is a block.
type Root struct {
	// Listen is the address.
	Listen string ` + "`yaml:\"listen\"`" + `
	// Wait bounds MaxItems waits.
	Wait time.Duration ` + "`yaml:\"wait\"`" + `
	// MaxItems caps the items.
	MaxItems int ` + "`yaml:\"max_items\"`" + `
	Hidden   string ` + "`yaml:\"-\"`" + `
	internal string
	// Users are people.
	Users []b.User ` + "`yaml:\"users\"`" + `
	Extra ` + "`yaml:\",inline\"`" + `
	// Opt, when set, adds things.
	Opt *Inner ` + "`yaml:\"opt\"`" + `
	// Tags map names to values.
	Tags map[string][]string ` + "`yaml:\"tags\"`" + `
}

type Extra struct {
	// Secret is hidden.
	Secret string ` + "`yaml:\"secret\" secret:\"true\"`" + `
}

type Inner struct {
	// Flag is a switch.
	Flag *bool ` + "`yaml:\"flag\"`" + `
}
`

const sampleB = `package b

// User is one user.
type User struct {
	// Name is the name.
	Name string ` + "`yaml:\"name\"`" + `
	// Groups are names.
	Groups []string ` + "`yaml:\"groups\"`" + `
}
`

func TestKeys(t *testing.T) {
	dir := writeModule(t, map[string]string{"a/a.go": samplePkg, "b/b.go": sampleB})
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := src.Keys("example.com/m/a", "Root", "root")
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{
		{Path: "root.listen", Type: "string", Doc: "The address."},
		{Path: "root.wait", Type: "duration", Doc: "Bounds `max_items` waits."},
		{Path: "root.max_items", Type: "integer", Doc: "Caps the items."},
		{Path: "root.users", Type: "list of mappings", Doc: "People.", Block: true},
		{Path: "root.users[].name", Type: "string", Doc: "The name."},
		{Path: "root.users[].groups", Type: "list of strings", Doc: "Names."},
		{Path: "root.secret", Type: "string", Doc: "Hidden.", Secret: true},
		{Path: "root.opt", Type: "mapping", Doc: "When set, adds things.", Block: true},
		{Path: "root.opt.flag", Type: "bool", Doc: "A switch."},
		{Path: "root.tags", Type: "map of string to list of strings", Doc: "Map names to values."},
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("Keys:\n got %+v\nwant %+v", keys, want)
	}
}

// sample mirrors samplePkg as real types, for Defaults.
type sample struct {
	Listen   string        `yaml:"listen"`
	Wait     time.Duration `yaml:"wait"`
	MaxItems int           `yaml:"max_items"`
	Hidden   string        `yaml:"-"`
	Users    []sampleUser  `yaml:"users"`
	Extra    sampleExtra   `yaml:",inline"`
	Opt      *struct {
		Flag *bool `yaml:"flag"`
	} `yaml:"opt"`
	Tags map[string][]string `yaml:"tags"`
}

type sampleUser struct {
	Name   string   `yaml:"name"`
	Groups []string `yaml:"groups"`
}

type sampleExtra struct {
	Secret string `yaml:"secret"`
}

func TestDefaultsAndMerge(t *testing.T) {
	v := sample{Listen: ":8080", Wait: 90 * time.Second, MaxItems: 3, Users: []sampleUser{{Name: "x"}}, Tags: map[string][]string{"b": {"1"}, "a": {"2", "3"}}}
	got := Defaults("root", &v)
	want := map[string]string{
		"root.listen": ":8080", "root.wait": "1m30s", "root.max_items": "3", "root.users": "1 items",
		"root.users[].name": "", "root.users[].groups": "[]", "root.secret": "", "root.opt": "unset",
		"root.opt.flag": "unset", "root.tags": "{a: [2, 3], b: [1]}",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults:\n got %v\nwant %v", got, want)
	}

	dir := writeModule(t, map[string]string{"a/a.go": samplePkg, "b/b.go": sampleB})
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := src.Keys("example.com/m/a", "Root", "root")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(keys, got); err != nil {
		t.Errorf("Merge of agreeing walks: %v", err)
	}
	delete(got, "root.tags")
	got["root.typo"] = ""
	_, err = Merge(keys, got)
	if err == nil || !strings.Contains(err.Error(), "root.tags (in source, not in the value)") || !strings.Contains(err.Error(), "root.typo (in the value, not in source)") {
		t.Errorf("Merge of disagreeing walks: %v", err)
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "0"}, {250 * time.Millisecond, "250ms"}, {2 * time.Second, "2s"}, {5 * time.Minute, "5m"}, {8 * time.Hour, "8h"}, {90 * time.Minute, "1h30m"}} {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestRewriteDoc(t *testing.T) {
	keys := map[string]string{"MaxAttempts": "max_attempts", "Redis": "redis", "URL": "url", "BindDN": "bind_dn"}
	for _, tc := range []struct{ doc, goName, want string }{
		{"Listen is the address\nto listen on.", "Listen", "The address to listen on."},
		{"Timeout bounds a login.", "Timeout", "Bounds a login."},
		{"NTLM, when set, authenticates.", "NTLM", "When set, authenticates."},
		{"URL is redis://host.", "URL", "redis://host."},
		{"Store keeps MaxAttempts in Redis, see BindDN.", "Store", "Keeps `max_attempts` in Redis, see `bind_dn`."},
		{"A comment not starting with the name.", "Other", "A comment not starting with the name."},
	} {
		if got := rewriteDoc(tc.doc, tc.goName, keys); got != tc.want {
			t.Errorf("rewriteDoc(%q) = %q, want %q", tc.doc, got, tc.want)
		}
	}
}

func TestExampleKeys(t *testing.T) {
	example := `
server:
  listen: ":8080"   # comment
  tls:
    # cert_file: ""
  # Prose: that looks like a key.
providers:
  - id: a
    static:
      users:
        - username: x
          # attributes: { office: [x] }
    # ldap: { urls: [a], username: { case: lower } }
`
	got := ExampleKeys([]byte(example))
	for _, k := range []string{"server.listen", "server.tls", "server.tls.cert_file", "providers[].id", "providers[].static.users[].username",
		"providers[].static.users[].attributes", "providers[].ldap.urls", "providers[].ldap.username.case"} {
		if !got[k] {
			t.Errorf("ExampleKeys misses %s; found %v", k, keysOf(got))
		}
	}
	for _, k := range []string{"listen", "providers.id", "server.tls.listen"} {
		if got[k] {
			t.Errorf("ExampleKeys found %s, which the example does not have", k)
		}
	}
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestRenderAndPaths(t *testing.T) {
	page := Render(Page{Title: "T", Sections: []Section{{Title: "s", Entries: []Entry{
		{Key: Key{Path: "a.b", Type: "string", Doc: "One | two.", Secret: true}, Default: "x|y"},
		{Key: Key{Path: "a.c", Type: "mapping", Block: true, Doc: "Block."}},
	}}}})
	for _, want := range []string{"| `a.b` | string | `x\\|y` | One \\| two. Secret: may instead be given as `b_file`", "| `a.c` | mapping | — | Block. |"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if got := Paths(page); !got["a.b"] || !got["a.c"] || len(got) != 2 {
		t.Errorf("Paths = %v", got)
	}
}
