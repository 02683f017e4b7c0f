package config

import (
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// A miniature of the real configuration, with the shapes the decoder must handle.
type decTestConfig struct {
	Server       decTestServer           `yaml:"server"`
	Session      decTestSession          `yaml:"session"`
	Security     decTestSecurity         `yaml:"security"`
	UI           decTestUI               `yaml:"ui"`
	Labels       map[string]string       `yaml:"labels"`
	Quotas       map[string]decTestQuota `yaml:"quotas"`
	RawProviders []yaml.Node             `yaml:"providers"` // decoded per kind by decodeTestConfig
	Providers    []decTestProvider       `yaml:"-"`
	Untagged     string                  // no yaml tag: never set from the file
}

type decTestServer struct {
	Listen         string      `yaml:"listen"`
	PublicURL      string      `yaml:"public_url"`
	TLS            *decTestTLS `yaml:"tls"`
	TrustedProxies []string    `yaml:"trusted_proxies"`
	Port           int         `yaml:"port"`
}

type decTestTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

type decTestSession struct {
	Secret   string        `yaml:"secret" secret:"true"`
	Lifetime time.Duration `yaml:"lifetime"`
	Store    string        `yaml:"store"`
}

type decTestSecurity struct {
	MaxAttempts int           `yaml:"max_attempts"`
	Lockout     time.Duration `yaml:"lockout"`
	Burst       uint8         `yaml:"burst"`
	Factor      float64       `yaml:"factor"`
	Enabled     bool          `yaml:"enabled"`
	MaxBody     int64         `yaml:"max_body"`
}

type decTestUI struct {
	Title        string `yaml:"title"`
	LogoFile     string `yaml:"logo_file"`
	TemplatesDir string `yaml:"templates_dir"`
}

type decTestQuota struct {
	Limit  int           `yaml:"limit"`
	Window time.Duration `yaml:"window"`
}

type decTestCommon struct {
	ID   string `yaml:"id"`
	Kind string `yaml:"kind"`
}

type decTestProvider struct {
	decTestCommon `yaml:",inline"`
	Label         string         `yaml:"label"`
	Directory     string         `yaml:"directory"`
	Static        *decTestStatic `yaml:"-"` // kind-specific blocks come in through extra
	LDAP          *decTestLDAP   `yaml:"-"`
}

type decTestStatic struct {
	Users []decTestUser `yaml:"users"`
}

type decTestUser struct {
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password" secret:"true"`
	PasswordHash string   `yaml:"password_hash"`
	Groups       []string `yaml:"groups"`
}

type decTestLDAP struct {
	URLs         []string      `yaml:"urls"`
	BindDN       string        `yaml:"bind_dn"`
	BindPassword string        `yaml:"bind_password" secret:"true"`
	CAFile       string        `yaml:"ca_file"`
	NestedGroups bool          `yaml:"nested_groups"`
	Timeout      time.Duration `yaml:"timeout"`
}

func decTestDefaults() decTestConfig {
	return decTestConfig{
		Server:   decTestServer{Listen: ":8080", TrustedProxies: []string{"127.0.0.1/32"}},
		Session:  decTestSession{Lifetime: 8 * time.Hour, Store: "cookie"},
		Security: decTestSecurity{MaxAttempts: 5, Lockout: 5 * time.Minute},
		UI:       decTestUI{Title: "Analytics"},
		Labels:   map[string]string{"env": "prod"},
	}
}

// decodeTestConfig decodes the way the real loader does: the top level first, then each provider with the
// block of its kind passed as extra.
func decodeTestConfig(d *decoder, root *yaml.Node) decTestConfig {
	cfg := decTestDefaults()
	d.decode(root, "", &cfg, nil)
	for i := range cfg.RawProviders {
		n := &cfg.RawProviders[i]
		var p decTestProvider
		extra := map[string]any{}
		switch kind, _ := scalarAt(n, "kind"); kind {
		case "static":
			p.Static = &decTestStatic{}
			extra["static"] = p.Static
		case "ldap":
			p.LDAP = &decTestLDAP{Timeout: 5 * time.Second}
			extra["ldap"] = p.LDAP
		}
		d.decode(n, fmt.Sprintf("providers[%d]", i), &p, extra)
		cfg.Providers = append(cfg.Providers, p)
	}
	cfg.RawProviders = nil // compared through Providers
	return cfg
}

const decTestBaseDir = "/etc/qlikgate"

// decTestDecoder returns a decoder with a fake environment and file system; missing files fail with the same
// text as os.ReadFile.
func decTestDecoder(env, files map[string]string) *decoder {
	d := newDecoder(decTestBaseDir)
	d.getenv = func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	d.readFile = func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	return d
}

func decErrStrings(d *decoder) []string {
	var out []string
	for _, e := range d.errs {
		out = append(out, e.Error())
	}
	return out
}

const decArgon2Hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
const decBcryptHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		files map[string]string
		want  func(*decTestConfig) // edits the defaults into the expected result; nil: no check
		errs  []string             // exactly these errors, in order
	}{
		{
			name: "happy path",
			yaml: `
server:
  listen: ":9000"
  public_url: https://auth.example.com/
  tls: {cert_file: tls/cert.pem, key_file: /abs/key.pem}
  trusted_proxies: [10.0.0.0/8, 192.168.0.0/16]
  port: 9000
session:
  secret: s3cr3t
  lifetime: 12h30m
security:
  max_attempts: 7
  lockout: 90s
  burst: 200
  factor: 1.5
  enabled: true
  max_body: 1048576
ui:
  title: "Reports"
  logo_file: logo.png
  templates_dir: ./tpl
labels:
  team: bi
quotas:
  api: {limit: 10, window: 1m}
providers:
  - id: corp
    kind: ldap
    label: Company
    directory: CORP
    ldap:
      urls: ["ldaps://dc1:636", "ldaps://dc2:636"]
      bind_dn: CN=svc
      bind_password: pw
      nested_groups: yes
  - id: local
    kind: static
    static:
      users:
        - {username: admin, password_hash: "` + decArgon2Hash + `", groups: [Admins, Users]}
`,
			want: func(c *decTestConfig) {
				c.Server = decTestServer{
					Listen:         ":9000",
					PublicURL:      "https://auth.example.com/",
					TLS:            &decTestTLS{CertFile: "/etc/qlikgate/tls/cert.pem", KeyFile: "/abs/key.pem"},
					TrustedProxies: []string{"10.0.0.0/8", "192.168.0.0/16"},
					Port:           9000,
				}
				c.Session = decTestSession{Secret: "s3cr3t", Lifetime: 12*time.Hour + 30*time.Minute, Store: "cookie"}
				c.Security = decTestSecurity{MaxAttempts: 7, Lockout: 90 * time.Second, Burst: 200, Factor: 1.5, Enabled: true, MaxBody: 1 << 20}
				c.UI = decTestUI{Title: "Reports", LogoFile: "/etc/qlikgate/logo.png", TemplatesDir: "/etc/qlikgate/tpl"}
				c.Labels = map[string]string{"env": "prod", "team": "bi"}
				c.Quotas = map[string]decTestQuota{"api": {Limit: 10, Window: time.Minute}}
				c.Providers = []decTestProvider{
					{decTestCommon: decTestCommon{ID: "corp", Kind: "ldap"}, Label: "Company", Directory: "CORP", LDAP: &decTestLDAP{
						URLs: []string{"ldaps://dc1:636", "ldaps://dc2:636"}, BindDN: "CN=svc", BindPassword: "pw",
						NestedGroups: true, Timeout: 5 * time.Second,
					}},
					{decTestCommon: decTestCommon{ID: "local", Kind: "static"}, Static: &decTestStatic{Users: []decTestUser{
						{Username: "admin", PasswordHash: decArgon2Hash, Groups: []string{"Admins", "Users"}},
					}}},
				}
			},
		},
		{
			name: "null keeps defaults, empty string does not",
			yaml: `
server:
  listen:
  port: ~
  trusted_proxies:
  tls: null
session:
  store: ""
ui: ~
labels:
`,
			want: func(c *decTestConfig) { c.Session.Store = "" },
		},
		{
			name: "empty list replaces default list",
			yaml: "server: {trusted_proxies: []}",
			want: func(c *decTestConfig) { c.Server.TrustedProxies = []string{} },
		},
		{
			name: "unknown keys with and without suggestion",
			yaml: `
sever: {}
server:
  listn: ":80"
  Untagged: x
bogus: 1
Untagged: x
`,
			errs: []string{
				`sever: unknown key (did you mean "server"?)`,
				`server.listn: unknown key (did you mean "listen"?)`,
				`server.Untagged: unknown key`,
				`bogus: unknown key`,
				`Untagged: unknown key`,
			},
		},
		{
			name: "unknown key deep in a list, and a block of another kind",
			yaml: `
providers:
  - id: corp
    kind: ldap
    static: {}
    ldap: {urls: [x], bind_pasword: y}
  - id: local
    kind: static
    statc: {}
    static:
      users:
        - username: a
        - username: b
          pasword: x
`,
			errs: []string{
				`providers[0].static: unknown key`,
				`providers[0].ldap.bind_pasword: unknown key (did you mean "bind_password"?)`,
				`providers[1].statc: unknown key (did you mean "static"?)`,
				`providers[1].static.users[1].pasword: unknown key (did you mean "password"?)`,
			},
		},
		{
			name: "several problems are all reported",
			yaml: `
server:
  port: eighty
session:
  lifetime: 90
providers:
  - id: x
    kind: static
    static:
      users:
        - {username: a, groups: admins}
`,
			errs: []string{
				`server.port: cannot use "eighty" as an integer (line 3)`,
				`session.lifetime: must be a duration like "90s" or "8h", not "90" (line 5)`,
				`providers[0].static.users[0].groups: expected a list (line 11)`,
			},
		},
		{
			name: "type mismatches",
			yaml: `
server: [a]
session: {lifetime: 8 hours}
security:
  enabled: maybe
  burst: 300
  max_attempts: -1.5
  factor: abc
ui:
  title: {a: 1}
labels: [a]
quotas: {api: {limit: 99999999999999999999}}
`,
			errs: []string{
				`server: expected a mapping (line 2)`,
				`session.lifetime: must be a duration like "90s" or "8h", not "8 hours" (line 3)`,
				`security.enabled: cannot use "maybe" as a boolean (true or false) (line 5)`,
				`security.burst: cannot use "300" as a non-negative integer (out of range) (line 6)`,
				`security.max_attempts: cannot use "-1.5" as an integer (line 7)`,
				`security.factor: cannot use "abc" as a number (line 8)`,
				`ui.title: expected a single value, not a list or mapping (line 10)`,
				`labels: expected a mapping (line 11)`,
				`quotas.api.limit: cannot use "99999999999999999999" as an integer (out of range) (line 12)`,
			},
		},
		{
			name: "duplicate keys",
			yaml: "server:\n  listen: a\n  listen: b\nlabels: {x: 1, x: 2}\n",
			errs: []string{
				`server.listen: duplicate key, first given at line 2 (line 3)`,
				`labels.x: duplicate key, first given at line 4 (line 4)`,
			},
		},
		{
			name: "environment expansion",
			env:  map[string]string{"PORT": "8443", "HOST": "auth.example.com", "SECRET": "xyz", "EMPTY": ""},
			yaml: `
server:
  listen: ":${PORT}"
  port: ${PORT}
  public_url: "https://${HOST}/${EMPTY}"
session:
  secret: ${SECRET}
ui:
  title: "price $5, $$ and $${HOME} stay, ${EMPTY}end"
labels:
  ${HOST}: "$${PORT}"
providers:
  - id: local
    kind: static
    static:
      users:
        - {username: a, password_hash: "` + decArgon2Hash + `"}
        - {username: b, password_hash: '` + decBcryptHash + `'}
`,
			want: func(c *decTestConfig) {
				c.Server.Listen = ":8443"
				c.Server.Port = 8443
				c.Server.PublicURL = "https://auth.example.com/"
				c.Session.Secret = "xyz"
				c.UI.Title = "price $5, $$ and ${HOME} stay, end"
				c.Labels["${HOST}"] = "${PORT}" // keys are not expanded
				c.Providers = []decTestProvider{{decTestCommon: decTestCommon{ID: "local", Kind: "static"}, Static: &decTestStatic{Users: []decTestUser{
					{Username: "a", PasswordHash: decArgon2Hash},
					{Username: "b", PasswordHash: decBcryptHash},
				}}}}
			},
		},
		{
			name: "unset and malformed variables",
			env:  map[string]string{"SET": "1"},
			yaml: `
server:
  port: ${PORT}
  listen: "${SET}:${A}${B}"
session:
  secret: "${FOO:-x}"
ui:
  title: "${unterminated"
`,
			errs: []string{
				`server.port: environment variable PORT is not set`,
				`server.listen: environment variable A is not set`,
				`server.listen: environment variable B is not set`,
				`session.secret: invalid reference "${FOO:-x}": write ${NAME}, or $${ for a literal "${"`,
				`ui.title: invalid reference "${unterminated": write ${NAME}, or $${ for a literal "${"`,
			},
		},
		{
			name: "secrets from files",
			env:  map[string]string{"PWFILE": "pw.txt"},
			files: map[string]string{
				"/etc/qlikgate/secrets/session": "from-file\n",
				"/run/secrets/ldap":             "ldap-pw\r\n",
				"/etc/qlikgate/pw.txt":          "two\n\n",
			},
			yaml: `
session:
  secret_file: secrets/session
providers:
  - id: corp
    kind: ldap
    ldap:
      bind_password: ~
      bind_password_file: /run/secrets/ldap
  - id: local
    kind: static
    static:
      users: [{username: a, password_file: "${PWFILE}"}]
`,
			want: func(c *decTestConfig) {
				c.Session.Secret = "from-file"
				c.Providers = []decTestProvider{
					{decTestCommon: decTestCommon{ID: "corp", Kind: "ldap"}, LDAP: &decTestLDAP{BindPassword: "ldap-pw", Timeout: 5 * time.Second}},
					{decTestCommon: decTestCommon{ID: "local", Kind: "static"}, Static: &decTestStatic{Users: []decTestUser{
						{Username: "a", Password: "two\n"}, // only one trailing newline is removed
					}}},
				}
			},
		},
		{
			name:  "secret given twice or from a missing file",
			files: map[string]string{"/etc/qlikgate/pw": "x"},
			yaml: `
session:
  secret: a
  secret_file: pw
providers:
  - id: corp
    kind: ldap
    ldap:
      bind_password_file: missing/pw
  - id: local
    kind: static
    static:
      users:
        - {password_file: pw, password: b}
        - {passwrd_file: pw}
`,
			errs: []string{
				`session.secret: set either secret or secret_file, not both`,
				`providers[0].ldap.bind_password_file: open /etc/qlikgate/missing/pw: no such file or directory`,
				`providers[1].static.users[0].password: set either password or password_file, not both`,
				`providers[1].static.users[1].passwrd_file: unknown key (did you mean "password_file"?)`,
			},
		},
		{
			name: "path fields resolved against the config directory",
			env:  map[string]string{"CERTS": "/srv/certs"},
			yaml: `
server:
  tls: {cert_file: "${CERTS}/cert.pem", key_file: ../keys/key.pem}
ui:
  logo_file: ""
  templates_dir: /usr/share/qlikgate/templates
`,
			want: func(c *decTestConfig) {
				c.Server.TLS = &decTestTLS{CertFile: "/srv/certs/cert.pem", KeyFile: "/etc/keys/key.pem"}
				c.UI.TemplatesDir = "/usr/share/qlikgate/templates"
			},
		},
		{
			name: "anchors and aliases",
			yaml: `
quotas:
  api: &q {limit: 10, window: 1m}
  web: *q
server:
  trusted_proxies: &nets [10.0.0.0/8]
  listen: &l ":7000"
ui:
  title: *l
`,
			want: func(c *decTestConfig) {
				c.Quotas = map[string]decTestQuota{"api": {10, time.Minute}, "web": {10, time.Minute}}
				c.Server.TrustedProxies = []string{"10.0.0.0/8"}
				c.Server.Listen = ":7000"
				c.UI.Title = ":7000"
			},
		},
		{
			name: "merge key: the mapping's own keys win",
			yaml: "quotas:\n  api: &q {limit: 1, window: 1m}\n  web: {<<: *q, window: 1s}\n",
			want: func(c *decTestConfig) {
				c.Quotas = map[string]decTestQuota{"api": {1, time.Minute}, "web": {1, time.Second}}
			},
		},
		{
			name: "merge key: a list of mappings, earlier ones winning, inline ones too",
			yaml: "quotas:\n  a: &a {limit: 1}\n  b: &b {limit: 2, window: 2s}\n  c: {<<: [*a, *b, {window: 3s, limit: 3}]}\n",
			want: func(c *decTestConfig) {
				c.Quotas = map[string]decTestQuota{"a": {1, 0}, "b": {2, 2 * time.Second}, "c": {1, 2 * time.Second}}
			},
		},
		{
			name: "merge key: nested merges and a merged block of a kind",
			yaml: `providers:
  - id: dc1
    kind: ldap
    ldap: &corp
      urls: [ldaps://dc1]
      bind_dn: cn=svc
      bind_password: pw
      timeout: 3s
  - &second
    id: dc2
    kind: ldap
    ldap:
      <<: *corp
      urls: [ldaps://dc2]
  - <<: *second
    id: dc3
`,
			want: func(c *decTestConfig) {
				dc := func(id, url string) decTestProvider {
					return decTestProvider{decTestCommon: decTestCommon{ID: id, Kind: "ldap"},
						LDAP: &decTestLDAP{URLs: []string{url}, BindDN: "cn=svc", BindPassword: "pw", Timeout: 3 * time.Second}}
				}
				c.Providers = []decTestProvider{dc("dc1", "ldaps://dc1"), dc("dc2", "ldaps://dc2"), dc("dc3", "ldaps://dc2")}
			},
		},
		{
			name: "merge key: a merged value is checked where it is used, at the anchor's line",
			yaml: `labels: &l
  env: prod
  timeout: fast
providers:
  - id: a
    kind: ldap
    ldap: {<<: *l, bind_dn: cn=svc}
`,
			errs: []string{
				`providers[0].ldap.env: unknown key`,
				`providers[0].ldap.timeout: must be a duration like "90s" or "8h", not "fast" (line 3)`,
			},
		},
		{
			name: "merge key: an inline mapping's problems are reported",
			yaml: "quotas:\n  web:\n    <<: {limit: 1, limit: 2, burst: 3}\n",
			errs: []string{
				`quotas.web.limit: duplicate key, first given at line 3 (line 3)`,
				`quotas.web.burst: unknown key`,
			},
		},
		{
			name: "merge key: only mappings merge",
			yaml: "server:\n  trusted_proxies: &nets [10.0.0.0/8]\n  tls: {<<: *nets}\nui: {<<: [3]}\n",
			errs: []string{
				`server.tls.<<: *nets is not a mapping: only mappings can be merged (line 3)`,
				`ui.<<: merge a mapping or a list of mappings, usually an alias such as <<: *name (line 4)`,
			},
		},
		{
			name: "merge key: given twice",
			yaml: "quotas:\n  a: &a {limit: 1}\n  b:\n    <<: *a\n    <<: *a\n",
			errs: []string{`quotas.b.<<: duplicate key, first given at line 4 (line 5)`},
			want: func(c *decTestConfig) { c.Quotas = map[string]decTestQuota{"a": {1, 0}, "b": {1, 0}} },
		},
		{
			name: "merge key: a quoted << is an ordinary key",
			yaml: "quotas:\n  a: {\"<<\": 1}\n",
			errs: []string{`quotas.a.<<: unknown key`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := parseYAML([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			d := decTestDecoder(tt.env, tt.files)
			got := decodeTestConfig(d, root)
			if errs := decErrStrings(d); !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(tt.errs, "\n"))
			}
			if (d.err() == nil) != (len(tt.errs) == 0) {
				t.Errorf("err() = %v, want nil only when there are no errors", d.err())
			}
			if tt.want != nil {
				want := decTestDefaults()
				tt.want(&want)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("decoded:\n%+v\nwant:\n%+v", got, want)
				}
			}
		})
	}
}

// TestDecodeFromDisk uses the production environment and file system hooks.
func TestDecodeFromDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("on-disk\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QLIKGATE_TEST_PORT", "81")
	root, err := parseYAML([]byte("session: {secret_file: secret.txt}\nserver: {port: '${QLIKGATE_TEST_PORT}'}\n" +
		"providers: [{kind: ldap, ldap: {bind_password_file: nope}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(dir)
	cfg := decodeTestConfig(d, root)
	if cfg.Session.Secret != "on-disk" || cfg.Server.Port != 81 {
		t.Errorf("secret %q, port %d", cfg.Session.Secret, cfg.Server.Port)
	}
	want := "providers[0].ldap.bind_password_file: open " + filepath.Join(dir, "nope") + ": no such file or directory"
	if err := d.err(); err == nil || err.Error() != want {
		t.Errorf("err() = %v, want %s", err, want)
	}
}

func TestParseYAML(t *testing.T) {
	for _, tt := range []struct{ in, err string }{
		{"server:\n  listen: \"x\n", "line 2: found unexpected end of stream"},
		{"server:\n\tlisten: x\n", "line 2: found character that cannot start any token"},
		{"- a\n- b\n", "line 1: the configuration must be a mapping of keys to values"},
		{"", ""},
		{"# only a comment\n", ""},
		{"server: {}\n", ""},
	} {
		root, err := parseYAML([]byte(tt.in))
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseYAML(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || root == nil || root.Kind != yaml.MappingNode {
			t.Errorf("parseYAML(%q) = %v, %v; want a mapping", tt.in, root, err)
		}
	}
}

func TestScalarAt(t *testing.T) {
	root, err := parseYAML([]byte("kind: &k static\nalias: *k\nlist: [a]\nempty:\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key, want string
		ok        bool
	}{{"kind", "static", true}, {"alias", "static", true}, {"list", "", false}, {"empty", "", false}, {"missing", "", false}} {
		if got, ok := scalarAt(root, tt.key); got != tt.want || ok != tt.ok {
			t.Errorf("scalarAt(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := scalarAt(nil, "kind"); ok {
		t.Error("scalarAt(nil) found a value")
	}
}

func TestDecodeEdgeCases(t *testing.T) {
	type tree struct {
		Name string `yaml:"name"`
		Kids []tree `yaml:"kids"`
	}
	root, err := parseYAML([]byte("name: root\nkids: &a [{name: x, kids: *a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := decTestDecoder(nil, nil)
	var tr tree
	d.decode(root, "", &tr, nil)
	want := "kids[0].kids[0].kids: alias *a refers to itself or to no anchor (line 2)"
	if err := d.err(); err == nil || err.Error() != want {
		t.Errorf("self-referencing alias: err() = %v, want %s", err, want)
	}

	d = decTestDecoder(nil, nil)
	var s decTestServer
	d.decode(root, "x", s, nil)                              // not a pointer
	d.decode(root, "y", (*decTestServer)(nil), nil)          // nil pointer
	d.decode(nil, "z", &s, nil)                              // no node: nothing to do
	d.decode(&yaml.Node{Kind: yaml.AliasNode}, "w", &s, nil) // alias without anchor
	if got := decErrStrings(d); len(got) != 3 || !strings.HasPrefix(got[0], "x: internal error") ||
		!strings.HasPrefix(got[1], "y: internal error") || !strings.HasPrefix(got[2], "w: alias") {
		t.Errorf("errors = %q", got)
	}
}

func TestDecodeTextUnmarshaler(t *testing.T) {
	var out struct {
		Nets []netip.Prefix `yaml:"nets"`
		Addr *netip.Addr    `yaml:"addr"`
	}
	root, err := parseYAML([]byte("nets: [10.0.0.0/8, bad]\naddr: ${IP}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := decTestDecoder(map[string]string{"IP": "192.0.2.1"}, nil)
	d.decode(root, "", &out, nil)
	if len(out.Nets) != 2 || out.Nets[0] != netip.MustParsePrefix("10.0.0.0/8") || out.Addr == nil || *out.Addr != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("decoded %+v", out)
	}
	want := `nets[1]: cannot use "bad": netip.ParsePrefix("bad"): no '/' (line 1)`
	if err := d.err(); err == nil || err.Error() != want {
		t.Errorf("err() = %v, want %s", err, want)
	}
}

func TestDecodeBillionLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	b.WriteString("deep: *l8\n") // 10^9 strings if every alias were expanded
	root, err := parseYAML([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Deep [][][][][][][][][]string `yaml:"deep"`
	}
	d := decTestDecoder(nil, nil)
	d.decode(root, "", &out, nil)
	if err := d.err(); err == nil || !strings.Contains(err.Error(), "more than 10000 aliases followed; stopping") {
		t.Errorf("err() = %v", err)
	}
}

// TestDecodeMergeLaughs: merge keys follow aliases too, so they count towards the same bound.
func TestDecodeMergeLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString("quotas:\n  m0: &m0 {limit: 1}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "  m%d: &m%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 10), ", "))
	}
	root, err := parseYAML([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	d := decTestDecoder(nil, nil)
	decodeTestConfig(d, root)
	if err := d.err(); err == nil || !strings.Contains(err.Error(), "more than 10000 aliases followed; stopping") {
		t.Errorf("err() = %v", err)
	}
}

// FuzzDecode checks that no input makes the decoder panic; its seeds run as part of `go test`.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"server: {listen: x, port: 1, tls: {cert_file: a}}",
		"providers: [{kind: static, static: {users: [{username: a, password_file: p}]}}]",
		"a: &a [*a]\nquotas: {x: *a}",
		"quotas: &q {a: *q}",
		"server: &s {tls: *s}",
		"server: &s {tls: {<<: *s}}",
		"quotas: {a: &a {limit: 1}, b: {<<: [*a, {window: 1s}, *a]}}",
		"? [a]\n: b",
		"labels: {? {a: 1} : b}",
		"session: {secret: '${X', lifetime: -5s}",
		"providers: [1, [2], {kind: [x]}]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		root, err := parseYAML([]byte(s))
		if err != nil {
			return
		}
		decodeTestConfig(decTestDecoder(map[string]string{"X": "1"}, map[string]string{"/etc/qlikgate/p": "x"}), root)
	})
}
