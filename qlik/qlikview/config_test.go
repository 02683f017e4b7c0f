package qlikview

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

const testWebTicketURL = "https://qv.corp.local/QvAJAXZfc/GetWebTicket.aspx"

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		errs   []string // substrings, each must appear; none means valid
	}{
		{name: "defaults with webticket_url are valid", modify: func(*Config) {}},
		{name: "everything set", modify: func(c *Config) {
			c.AuthenticateURL = "https://qlikview.corp.com/QvAJAXZfc/Authenticate.aspx"
			c.TryURL = "https://qlikview.corp.com/QvAJAXZfc/opendoc.htm?document=Sales%5CDash.qvw"
			c.BackURL = "/login.htm"
			c.LogoutURL = "https://qlikview.corp.com/QvAJAXZfc/qlikgate-logout.htm"
			c.AllowedReturnHosts = []string{"portal.corp.com", "qlikview.corp.com:8443"}
			c.Domain = "CORP"
			c.CAFile = "/etc/qlikgate/ca.pem"
			c.NTLM = &NTLMConfig{Username: "svc-qlikgate", Password: "pw", Domain: "CORP"}
		}},
		{name: "NTLM user with domain", modify: func(c *Config) { c.NTLM = &NTLMConfig{Username: `CORP\svc`, Password: "pw"} }},
		{name: "lower-case page names", modify: func(c *Config) {
			c.WebTicketURL = "http://qv/qvajaxzfc/getwebticket.aspx"
		}},

		{name: "webticket_url missing", modify: func(c *Config) { c.WebTicketURL = "" }, errs: []string{"webticket_url: required"}},
		{name: "webticket_url relative", modify: func(c *Config) { c.WebTicketURL = "/QvAJAXZfc/GetWebTicket.aspx" },
			errs: []string{"webticket_url:", "absolute"}},
		{name: "webticket_url points at AccessPoint", modify: func(c *Config) { c.WebTicketURL = "https://qv/QlikView/" },
			errs: []string{"webticket_url:", "GetWebTicket.aspx"}},
		{name: "webticket_url with query", modify: func(c *Config) { c.WebTicketURL = testWebTicketURL + "?x=1" },
			errs: []string{"webticket_url:", "query"}},
		{name: "webticket_url with user info", modify: func(c *Config) { c.WebTicketURL = "https://u:p@qv/QvAJAXZfc/GetWebTicket.aspx" },
			errs: []string{"webticket_url:", "user info"}},
		{name: "authenticate_url wrong page", modify: func(c *Config) { c.AuthenticateURL = "https://qv/QvAJAXZfc/GetWebTicket.aspx" },
			errs: []string{"authenticate_url:", "Authenticate.aspx"}},
		{name: "try_url empty", modify: func(c *Config) { c.TryURL = "" }, errs: []string{"try_url: must not be empty"}},
		{name: "try_url scheme-relative", modify: func(c *Config) { c.TryURL = "//evil.example/" }, errs: []string{"try_url:", "scheme-relative"}},
		{name: "try_url relative without slash", modify: func(c *Config) { c.TryURL = "QlikView/" }, errs: []string{"try_url:", "path starting with /"}},
		{name: "back_url javascript", modify: func(c *Config) { c.BackURL = "javascript:alert(1)" }, errs: []string{"back_url:"}},
		{name: "back_url with newline", modify: func(c *Config) { c.BackURL = "/a\n/b" }, errs: []string{"back_url:", "control"}},
		{name: "logout_url relative", modify: func(c *Config) { c.LogoutURL = "/logout" }, errs: []string{"logout_url:", "absolute"}},
		{name: "allowed_return_hosts URL with a path", modify: func(c *Config) { c.AllowedReturnHosts = []string{"ok.example", "https://portal/qv"} },
			errs: []string{"allowed_return_hosts[1]:", "without path"}},
		{name: "allowed_return_hosts Unicode host", modify: func(c *Config) { c.AllowedReturnHosts = []string{"pörtal.example"} },
			errs: []string{"allowed_return_hosts[0]:", "xn--"}},
		{name: "allowed_return_hosts user info", modify: func(c *Config) { c.AllowedReturnHosts = []string{"https://qlik@portal.example"} },
			errs: []string{"allowed_return_hosts[0]:", "user info"}},
		{name: "allowed_return_hosts bad port", modify: func(c *Config) { c.AllowedReturnHosts = []string{"portal.example:99999"} },
			errs: []string{"allowed_return_hosts[0]:", "port"}},
		{name: "domain with backslash", modify: func(c *Config) { c.Domain = `CORP\` }, errs: []string{"domain:", "without"}},
		{name: "domain while send_domain false", modify: func(c *Config) { c.Domain = "CORP"; c.SendDomain = false },
			errs: []string{"domain: set, but send_domain is false"}},
		{name: "ca_file with http", modify: func(c *Config) {
			c.WebTicketURL = "http://qv/QvAJAXZfc/GetWebTicket.aspx"
			c.CAFile = "ca.pem"
		}, errs: []string{"ca_file:", "https"}},
		{name: "timeout zero", modify: func(c *Config) { c.Timeout = 0 }, errs: []string{"timeout: must be positive"}},
		{name: "ntlm empty", modify: func(c *Config) { c.NTLM = &NTLMConfig{} },
			errs: []string{"ntlm.username: required", "ntlm.password: required"}},
		{name: "ntlm domain twice", modify: func(c *Config) { c.NTLM = &NTLMConfig{Username: `CORP\svc`, Password: "pw", Domain: "CORP"} },
			errs: []string{"ntlm.username:", "not both"}},
		{name: "ntlm bad DOMAIN\\user", modify: func(c *Config) { c.NTLM = &NTLMConfig{Username: `\svc`, Password: "pw"} },
			errs: []string{`ntlm.username:`, `not DOMAIN\user`}},
		{name: "ntlm bad domain", modify: func(c *Config) { c.NTLM = &NTLMConfig{Username: "svc", Password: "pw", Domain: "a b"} },
			errs: []string{"ntlm.domain:"}},
		{name: "several problems at once", modify: func(c *Config) { c.WebTicketURL = ""; c.Timeout = -time.Second; c.TryURL = "" },
			errs: []string{"webticket_url:", "timeout:", "try_url:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.WebTicketURL = testWebTicketURL
			tt.modify(c)
			err := c.Validate()
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.errs)
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			// Every line names its key first, so cmd/qlikgate can prefix it.
			for _, line := range strings.Split(err.Error(), "\n") {
				key, _, ok := strings.Cut(line, ": ")
				if !ok || strings.ContainsAny(key, " \"") {
					t.Errorf("error line %q does not start with a key", line)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Kind.NewConfig().(*Config)
	if c.TryURL != "/QlikView/" || !c.GroupsAreNames || !c.SendDomain || c.Timeout != 10*time.Second || c.NTLM != nil {
		t.Fatalf("defaults %+v", c)
	}
	if Kind.Name != "qlikview" || Kind.ConfigKey != "qlikview" {
		t.Fatalf("kind %+v", Kind)
	}
}

func TestOpenDerivesURLs(t *testing.T) {
	tests := []struct {
		name, webticket, public, wantAuth, wantBack string
		auth, back                                  string
	}{
		{name: "authenticate next to GetWebTicket, back to the entry",
			webticket: testWebTicketURL, public: "https://auth.corp.local/qlik/",
			wantAuth: "https://qv.corp.local/QvAJAXZfc/Authenticate.aspx", wantBack: "https://auth.corp.local/qlik/t/qv/"},
		{name: "public_url without slash", webticket: "http://qv:8080/qvajaxzfc/getwebticket.aspx", public: "https://auth",
			wantAuth: "http://qv:8080/qvajaxzfc/Authenticate.aspx", wantBack: "https://auth/t/qv/"},
		{name: "configured values win", webticket: testWebTicketURL, public: "https://auth/",
			auth: "https://qlikview.corp.com/QvAJAXZfc/Authenticate.aspx", back: "/login.htm",
			wantAuth: "https://qlikview.corp.com/QvAJAXZfc/Authenticate.aspx", wantBack: "/login.htm"},
		{name: "no public URL: no back", webticket: testWebTicketURL,
			wantAuth: "https://qv.corp.local/QvAJAXZfc/Authenticate.aspx", wantBack: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.WebTicketURL, c.AuthenticateURL, c.BackURL = tt.webticket, tt.auth, tt.back
			tg, err := Open(context.Background(), qlik.Common{ID: "qv", Kind: "qlikview"}, c, qlik.Env{PublicURL: tt.public})
			if err != nil {
				t.Fatal(err)
			}
			if tg.AuthenticateURL() != tt.wantAuth || tg.back != tt.wantBack {
				t.Fatalf("authenticate %q back %q; want %q and %q", tg.AuthenticateURL(), tg.back, tt.wantAuth, tt.wantBack)
			}
		})
	}
}

func TestOpenCAFile(t *testing.T) {
	c := DefaultConfig()
	c.WebTicketURL = testWebTicketURL
	c.CAFile = t.TempDir() + "/missing.pem"
	if _, err := Open(context.Background(), qlik.Common{ID: "qv"}, c, qlik.Env{}); err == nil || !strings.HasPrefix(err.Error(), "ca_file: ") {
		t.Fatalf("got %v, want a ca_file error", err)
	}
	c.CAFile = writeFile(t, "notpem.pem", "hello")
	if _, err := Open(context.Background(), qlik.Common{ID: "qv"}, c, qlik.Env{}); err == nil || !strings.Contains(err.Error(), "ca_file: ") || !strings.Contains(err.Error(), "no certificate found") {
		t.Fatalf("got %v, want a ca_file error", err)
	}
	c.CAFile = ""
	c.Timeout = 0
	if _, err := Open(context.Background(), qlik.Common{ID: "qv"}, c, qlik.Env{}); err == nil {
		t.Fatal("Open accepted an invalid configuration")
	}
}
