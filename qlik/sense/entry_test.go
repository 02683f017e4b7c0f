package sense

import (
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

func TestCanonicalQPS(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "https://sense.corp.local:4243/qps/hr/", want: "https://sense.corp.local:4243/qps/hr/"},
		{in: "https://SENSE.corp.local:4243/qps/hr", want: "https://sense.corp.local:4243/qps/hr/"},
		{in: "https://sense.corp.local/qps/", want: "https://sense.corp.local:443/qps/"},
		{in: "https://[::1]:4243/qps/hr/", want: "https://[::1]:4243/qps/hr/"},
		{in: "http://sense:4243/qps/hr/", err: "must use https"},
		{in: "https://user:pw@sense:4243/qps/hr/", err: "without user"},
		{in: "https://sense:4243/qps/hr/?x=1", err: "without user, query"},
		{in: "https://sense:4243/qps/hr/#f", err: "without user, query or fragment"},
		{in: "https://sense:4243/other/hr/", err: "path must be"},
		{in: "https://sense:4243/qps/hr/ticket/", err: "path must be"},
		{in: "https://sense:4243/qps/../x/", err: "path must be"},
		{in: "https://sense:4243/qps/h%2Fr/", err: "path must be"},
		{in: "https://sense:4243//qps/hr/", err: "path must be"},
		{in: "//sense:4243/qps/hr/", err: "must use https"},
		{in: "https:///qps/hr/", err: "without user"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := canonicalQPS(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("canonicalQPS(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("canonicalQPS(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// entryTarget is a TicketTarget with only what ParseEntry needs.
func entryTarget(t testing.TB) *TicketTarget {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ProxyRestURI = "https://sense1.corp.local:4243/qps/hr/"
	cfg.AllowedProxyRestURIs = []string{"https://sense2.corp.local:4243/qps/hr"}
	cfg.HubURL = "https://sense.corp.local/hr/hub/"
	cfg.AllowedRedirectHosts = []string{"qlik.corp.local", "lb.corp.local:8443"}
	tt := &TicketTarget{site: &site{id: "sense", cfg: *cfg, log: slog.New(slog.DiscardHandler)}}
	tt.allowed, tt.redirectHosts = allowlists(cfg)
	tt.nodes, tt.now = newNodes(cfg), time.Now
	return tt
}

func TestParseEntry(t *testing.T) {
	const guid = "8b1d3e3c-9f0e-4a54-a9a2-0b7a3c2d1e5f"
	tests := []struct {
		name    string
		query   string
		want    qlik.Entry
		wantErr bool
	}{
		{name: "no parameters: no node named, no target", query: "",
			want: qlik.Entry{}},
		{name: "as Qlik sends it (lower-case escapes, trailing slash)",
			query: "proxyRestUri=https%3a%2f%2fsense1.corp.local%3a4243%2fqps%2fhr%2f&targetId=" + guid,
			want:  qlik.Entry{ProxyRestURI: "https://sense1.corp.local:4243/qps/hr/", TargetID: guid}},
		{name: "allowlisted second node, host case differs",
			query: "targetId=" + guid + "&proxyRestUri=" + url.QueryEscape("https://SENSE2.corp.local:4243/qps/hr/"),
			want:  qlik.Entry{ProxyRestURI: "https://sense2.corp.local:4243/qps/hr/", TargetID: guid}},
		{name: "targetId without proxyRestUri names no node", query: "targetId=" + guid,
			want: qlik.Entry{TargetID: guid}},
		{name: "foreign host", query: "proxyRestUri=" + url.QueryEscape("https://evil.example:4243/qps/hr/"), wantErr: true},
		{name: "right host, other port", query: "proxyRestUri=" + url.QueryEscape("https://sense1.corp.local:4244/qps/hr/"), wantErr: true},
		{name: "right host, other prefix", query: "proxyRestUri=" + url.QueryEscape("https://sense1.corp.local:4243/qps/finance/"), wantErr: true},
		{name: "suffix trick", query: "proxyRestUri=" + url.QueryEscape("https://sense1.corp.local.evil.example:4243/qps/hr/"), wantErr: true},
		{name: "userinfo trick", query: "proxyRestUri=" + url.QueryEscape("https://sense1.corp.local:4243@evil.example/qps/hr/"), wantErr: true},
		{name: "plain http", query: "proxyRestUri=" + url.QueryEscape("http://sense1.corp.local:4243/qps/hr/"), wantErr: true},
		{name: "path traversal", query: "proxyRestUri=" + url.QueryEscape("https://sense1.corp.local:4243/qps/hr/../../x/"), wantErr: true},
		{name: "targetId not a GUID", query: "targetId=../../etc", wantErr: true},
		{name: "targetId with extra characters", query: "targetId=" + guid + "x", wantErr: true},
	}
	tgt := entryTarget(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tgt.ParseEntry(q)
			if tt.wantErr {
				if !errors.Is(err, qlik.ErrBadEntry) {
					t.Fatalf("ParseEntry(%s) = %+v, %v; want ErrBadEntry", tt.query, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseEntry(%s) = %+v, %v; want %+v", tt.query, got, err, tt.want)
			}
		})
	}
}

func TestWithTicket(t *testing.T) {
	tests := []struct {
		dest, want string
		wantErr    bool
	}{
		{dest: "https://sense/hr/hub/", want: "https://sense/hr/hub/?qlikTicket=T1"},
		{dest: "https://sense/hr/sense/app/abc?sheet=x&opt=1", want: "https://sense/hr/sense/app/abc?opt=1&qlikTicket=T1&sheet=x"},
		{dest: "https://sense/hr/hub/?QlikTicket=old", want: "https://sense/hr/hub/?qlikTicket=T1"},
		{dest: "https://sense/hr/hub/#/stream/1", want: "https://sense/hr/hub/?qlikTicket=T1#/stream/1"},
		{dest: "/hr/hub/", wantErr: true},
		{dest: "javascript:alert(1)", wantErr: true},
		{dest: "https://user@sense/hr/hub/", wantErr: true},
	}
	for _, tt := range tests {
		got, err := withTicket(tt.dest, "T1")
		if tt.wantErr {
			if err == nil {
				t.Errorf("withTicket(%q) = %q, want an error", tt.dest, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("withTicket(%q) = %q, %v; want %q", tt.dest, got, err, tt.want)
		}
	}
}

func TestXrfkey(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-zA-Z]{16}$`)
	seen := map[string]bool{}
	for range 1000 {
		k := newXrfkey()
		if !re.MatchString(k) {
			t.Fatalf("xrfkey %q is not 16 characters of [0-9a-zA-Z]", k)
		}
		if seen[k] {
			t.Fatalf("xrfkey %q repeated", k)
		}
		seen[k] = true
	}
}

func TestAttributes(t *testing.T) {
	u := qlik.User{Groups: []string{"Sales", "EU"}, Attributes: map[string][]string{"office": {"Lund"}, "cost": {"1", "2"}}}
	got := attributes(u, "group")
	want := []attribute{{"group": "Sales"}, {"group": "EU"}, {"cost": "1"}, {"cost": "2"}, {"office": "Lund"}}
	if len(got) != len(want) {
		t.Fatalf("attributes = %v, want %v", got, want)
	}
	for i := range want {
		for k, v := range want[i] {
			if got[i][k] != v || len(got[i]) != 1 {
				t.Fatalf("attributes[%d] = %v, want %v", i, got[i], want[i])
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"empty", func(c *Config) { *c = Config{} }, []string{
			"proxy_rest_uri: required", "client_cert_file: required", "client_key_file: required",
			"root_ca_file: required", "hub_url: required", "group_attribute: must not be empty", "timeout: must be positive"}},
		{"pfx and pem", func(c *Config) { c.PFXFile = "client.pfx" }, []string{"pfx_file: set either"}},
		{"pfx password without pfx", func(c *Config) { c.PFXPassword = "x" }, []string{"pfx_password: set only with pfx_file"}},
		{"bad allowlist entry", func(c *Config) { c.AllowedProxyRestURIs = []string{"http://x/qps/"} }, []string{"allowed_proxy_rest_uris[0]: ", "https"}},
		{"relative hub", func(c *Config) { c.HubURL = "/hub/" }, []string{"hub_url: "}},
		{"proxy_rest_uri and nodes", func(c *Config) { c.Nodes = []string{"https://sense2:4243/qps/hr/"} },
			[]string{"nodes: set either proxy_rest_uri (one node) or nodes, not both"}},
		{"bad node", func(c *Config) {
			c.ProxyRestURI, c.Nodes = "", []string{"https://a:4243/qps/hr/", "http://b:4243/qps/hr/"}
		},
			[]string{"nodes[1]: ", "https"}},
		{"same node twice", func(c *Config) {
			c.ProxyRestURI, c.Nodes = "", []string{"https://a:4243/qps/hr/", "https://A:4243/qps/hr"}
		}, []string{"nodes[1]: ", "same node as nodes[0]"}},
		{"no back-off", func(c *Config) { c.NodeBackoff = 0 }, []string{"node_backoff: must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted a bad config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	nodes := validConfig()
	nodes.ProxyRestURI, nodes.Nodes = "", []string{"https://a:4243/qps/hr/", "https://b:4243/qps/hr/"}
	if err := nodes.Validate(); err != nil {
		t.Fatalf("valid config with nodes refused: %v", err)
	}
}

func validConfig() *Config {
	c := DefaultConfig()
	c.ProxyRestURI = "https://sense:4243/qps/hr/"
	c.ClientCertFile, c.ClientKeyFile, c.RootCAFile = "client.pem", "client_key.pem", "root.pem"
	c.HubURL = "https://sense/hr/hub/"
	return c
}

func TestCheckRedirect(t *testing.T) {
	https := entryTarget(t)
	// A hub reached over plain http: only http TargetUris on it, and bare
	// allowed_redirect_hosts entries take http too.
	httpCfg := DefaultConfig()
	httpCfg.ProxyRestURI = "https://sense1.corp.local:4243/qps/hr/"
	httpCfg.HubURL = "http://sense.corp.local:8080/hr/hub/"
	httpCfg.AllowedRedirectHosts = []string{"qlik.corp.local", "https://secure.corp.local"}
	http := &TicketTarget{site: &site{id: "sense", cfg: *httpCfg, log: slog.New(slog.DiscardHandler)}}
	http.allowed, http.redirectHosts = allowlists(httpCfg)
	tests := []struct {
		tg  *TicketTarget
		uri string
		ok  bool
	}{
		{https, "https://sense.corp.local/hr/hub/stream/1", true},
		{https, "https://SENSE.corp.local:443/hr/sense/app/x?sheet=1", true},
		{https, "HTTPS://sense.corp.local/hr/hub/", true},
		{https, "https://sense1.corp.local/hr/hub/", true}, // a QPS node, on 443
		{https, "https://sense2.corp.local/hr/hub/", true},
		{https, "https://qlik.corp.local/hr/hub/", true},
		{https, "https://qlik.corp.local:443/hr/hub/", true},
		{https, "https://lb.corp.local:8443/hr/hub/", true},
		{http, "http://sense.corp.local:8080/hr/hub/", true},
		{http, "http://qlik.corp.local/hr/hub/", true},
		{http, "http://qlik.corp.local:80/hr/hub/", true},
		{http, "https://secure.corp.local/hr/hub/", true},
		{http, "https://sense1.corp.local/hr/hub/", true}, // QPS hosts are https on 443 whatever the hub

		{https, "http://sense.corp.local/hr/hub/", false},      // downgrade of the hub
		{https, "http://sense.corp.local:443/hr/hub/", false},  // downgrade on the hub's port
		{https, "http://sense1.corp.local/hr/hub/", false},     // downgrade of a QPS host
		{https, "http://qlik.corp.local/hr/hub/", false},       // downgrade of an allowed host
		{https, "http://lb.corp.local:8443/hr/hub/", false},    // downgrade of an allowed host:port
		{http, "https://sense.corp.local:8080/hr/hub/", false}, // upgrade of the hub
		{http, "https://qlik.corp.local/hr/hub/", false},       // upgrade of a bare allowed host
		{http, "http://secure.corp.local/hr/hub/", false},      // downgrade of an https entry
		{http, "http://sense.corp.local/hr/hub/", false},       // the hub without its port
		{https, "https://lb.corp.local/hr/hub/", false},
		{https, "https://sense.corp.local:8443/hr/hub/", false},
		{https, "https://sense1.corp.local:4243/qps/hr/", false},
		{https, "https://evil.example/hr/hub/", false},
		{https, "https://sense.corp.local.evil.example/", false},
		{https, "https://sense.corp.local./hr/hub/", false},
		{https, "https://sense.corp.local@evil.example/", false},
		{https, "https://qlik@sense.corp.local/hr/hub/", false},
		{https, "https://sense%2Ecorp.local/", false},
		{https, "https://\u212Aqlik.corp.local/", false},
		{https, "https://qlik.corp.lоcal/", false}, // Cyrillic o
		{https, `https:\\evil.example/`, false},
		{https, `https://sense.corp.local\@evil.example/`, false},
		{https, "https:evil.example", false},
		{https, "https://sense.corp.local//evil.example/", false},
		{https, "//evil.example/", false},
		{https, `/\evil.example/`, false},
		{https, "/hr/hub/", false},
		{https, "javascript:alert(1)", false},
	}
	for _, tt := range tests {
		_, err := tt.tg.checkRedirect(tt.uri)
		if tt.ok != (err == nil) {
			t.Errorf("hub %s: checkRedirect(%q) = %v, want ok=%v", tt.tg.cfg.HubURL, tt.uri, err, tt.ok)
		}
		if err != nil && !errors.Is(err, qlik.ErrBadEntry) {
			t.Errorf("checkRedirect(%q) = %v, want ErrBadEntry", tt.uri, err)
		}
	}
}
