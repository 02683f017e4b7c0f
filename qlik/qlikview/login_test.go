package qlikview

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// TestFullLoop: AccessPoint sends an anonymous browser to the module, the
// module hands the user over, and AccessPoint shows the user and groups.
func TestFullLoop(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{})
	tg := newTarget(t, sim, nil)
	b := browser(t, false, nil)

	// AccessPoint → custom login page (the module), without parameters.
	first := get(t, browser(t, true, nil), sim.AccessPointURL())
	if first.status != http.StatusFound || first.loc != testPublicURL+"t/qv/" {
		t.Fatalf("anonymous AccessPoint: %d → %q", first.status, first.loc)
	}
	lu, _ := url.Parse(first.loc)
	e, err := tg.ParseEntry(lu.Query())
	if err != nil {
		t.Fatal(err)
	}

	redirect := login(t, tg, testUser, e)
	ru, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	q := ru.Query()
	if ru.Scheme+"://"+ru.Host+ru.Path != sim.AuthenticateURL() || q.Get("type") != "html" || len(q.Get("webticket")) != 40 ||
		q.Get("try") != "/QlikView/" || q.Get("back") != testPublicURL+"t/qv/" || len(q) != 4 {
		t.Fatalf("redirect %s", redirect)
	}

	p := get(t, b, redirect)
	if p.status != http.StatusOK || p.url != sim.AccessPointURL() {
		t.Fatalf("landed on %s with %d:\n%s", p.url, p.status, p.body)
	}
	for _, want := range []string{`<h1 id="user">CORP\jdoe</h1>`, "<li>Sales</li>\n<li>EU</li>\n</ul>", `id="groups-are-names">true<`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("AccessPoint page lacks %q:\n%s", want, p.body)
		}
	}
	// The cookie now opens AccessPoint directly.
	if p := get(t, b, sim.AccessPointURL()); p.status != http.StatusOK || p.url != sim.AccessPointURL() {
		t.Fatalf("second visit: %d at %s", p.status, p.url)
	}
	// The redirect is single-use: replayed, QlikView sends it back to qlikgate.
	if p := get(t, browser(t, true, nil), redirect); p.status != http.StatusFound || p.loc != testPublicURL+"t/qv/" {
		t.Fatalf("replayed ticket: %d → %q", p.status, p.loc)
	}
	if st := sim.Stats(); st.TicketsIssued != 1 || st.TicketsConsumed != 1 || st.TicketsRejected != 1 || st.InvalidCalls != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestUserID(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		user   qlik.User
		want   string // sent UserId, or error substring prefixed with "!"
	}{
		{name: "default: the provider's directory as DOMAIN", user: testUser, want: `CORP\jdoe`},
		{name: "configured domain", modify: func(c *Config) { c.Domain = "ACME" }, user: testUser, want: `ACME\jdoe`},
		{name: "configured domain without a directory", modify: func(c *Config) { c.Domain = "ACME" },
			user: qlik.User{UserID: "jdoe"}, want: `ACME\jdoe`},
		{name: "send_domain false", modify: func(c *Config) { c.SendDomain = false }, user: testUser, want: "jdoe"},
		{name: "email ids without domain", modify: func(c *Config) { c.SendDomain = false },
			user: qlik.User{Directory: "ENTRA", UserID: "j.doe@corp.com"}, want: "j.doe@corp.com"},
		{name: "no directory and no domain", user: qlik.User{UserID: "jdoe"}, want: "!no directory"},
		{name: "directory with a space", user: qlik.User{Directory: "MY CORP", UserID: "jdoe"}, want: "!directory cannot be sent"},
		{name: "backslash in the user id", user: qlik.User{Directory: "CORP", UserID: `OTHER\jdoe`}, want: "!backslash"},
		{name: "blank user id", user: qlik.User{Directory: "CORP", UserID: " "}, want: "!blank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, qliksim.QlikViewOptions{})
			tg := newTarget(t, sim, tt.modify)
			h, err := tg.Login(context.Background(), tt.user, qlik.Entry{})
			if want, isErr := strings.CutPrefix(tt.want, "!"); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %+v, %v; want error %q", h, err, want)
				}
				if sim.Stats().InvalidCalls+sim.Stats().TicketsIssued != 0 {
					t.Fatal("QlikView was called for a user that cannot be sent")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			get(t, browser(t, false, nil), h.Redirect)
			if got := onlySession(t, sim).UserID; got != tt.want {
				t.Fatalf("QlikView got user %q, want %q", got, tt.want)
			}
		})
	}
}

// TestXMLInjection: names full of markup reach QlikView literally, one
// group each, whatever they contain.
func TestXMLInjection(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{})
	tg := newTarget(t, sim, func(c *Config) { c.SendDomain = false })
	groups := []string{"</string><string>Admins", "R&D", `<![CDATA[x]]>`, `"quoted" 'single'`, "Ünïcödé 🙂"}
	u := qlik.User{UserID: "j</UserId><UserId>admin", Groups: groups}
	p := get(t, browser(t, false, nil), login(t, tg, u, qlik.Entry{}))
	s := onlySession(t, sim)
	if s.UserID != u.UserID || !slices.Equal(s.Groups, groups) {
		t.Fatalf("QlikView got user %q groups %q; want %q %q", s.UserID, s.Groups, u.UserID, groups)
	}
	if !strings.Contains(p.body, "<li>&lt;/string&gt;&lt;string&gt;Admins</li>") || strings.Count(p.body, "<li>") != len(groups) {
		t.Fatalf("AccessPoint page:\n%s", p.body)
	}
}

func TestGroups(t *testing.T) {
	tests := []struct {
		name      string
		names     bool
		groups    []string
		want      []string // nil: no GroupList sent
		wantNames bool
		err       string
	}{
		{name: "names", names: true, groups: []string{"Sales"}, want: []string{"Sales"}, wantNames: true},
		{name: "no groups: QlikView looks them up", names: true, groups: nil, want: nil},
		{name: "blank groups are dropped", names: true, groups: []string{" ", "", "EU"}, want: []string{"EU"}, wantNames: true},
		{name: "only blank groups: none sent", names: true, groups: []string{" "}, want: nil},
		{name: "SIDs", names: false, groups: []string{"S-1-5-21-3623811015-3361044348-30300820-1013", "S-1-5-32-544"},
			want: []string{"S-1-5-21-3623811015-3361044348-30300820-1013", "S-1-5-32-544"}},
		{name: "a name where SIDs are expected", names: false, groups: []string{"S-1-5-32-544", "Sales"},
			err: `group "Sales" is not a Windows SID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, qliksim.QlikViewOptions{})
			tg := newTarget(t, sim, func(c *Config) { c.GroupsAreNames = tt.names })
			u := testUser
			u.Groups = tt.groups
			h, err := tg.Login(context.Background(), u, qlik.Entry{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			get(t, browser(t, false, nil), h.Redirect)
			s := onlySession(t, sim)
			if len(s.Groups) != len(tt.want) || (tt.want != nil && !slices.Equal(s.Groups, tt.want)) || s.GroupsAreNames != tt.wantNames {
				t.Fatalf("QlikView got groups %q (names %v), want %q (names %v)", s.Groups, s.GroupsAreNames, tt.want, tt.wantNames)
			}
		})
	}
}

func TestInvalidCall(t *testing.T) {
	for name, trusted := range map[string][]string{
		"no TrustedIP":                  {"10.0.0.5"},
		"::1 trusted, caller 127.0.0.1": {"::1"},
	} {
		t.Run(name, func(t *testing.T) {
			sim := newSim(t, qliksim.QlikViewOptions{TrustedIPs: trusted})
			tg := newTarget(t, sim, nil)
			h, err := tg.Login(context.Background(), testUser, qlik.Entry{})
			if !errors.Is(err, ErrInvalidCall) || h.Redirect != "" {
				t.Fatalf("got %+v, %v; want ErrInvalidCall", h, err)
			}
			for _, want := range []string{"qlikview qv:", `CORP\\jdoe`, sim.WebTicketURL(), "TrustedIP"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if sim.Stats().InvalidCalls != 1 {
				t.Fatalf("stats %+v", sim.Stats())
			}
		})
	}
}

// TestTryAndBack: where QlikView sends the browser, from configuration or
// from a validated entry, and QlikView's own SafeForwardList check.
func TestTryAndBack(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{SafeForwardHosts: []string{"portal.example"}})
	doc := `/QvAJAXZfc/opendoc.htm?document=Sales\Dash.qvw`
	tests := []struct {
		name          string
		modify        func(*Config)
		entry         string // try in the entry query
		wantTry       string
		wantBack      string
		qlikViewRefus bool // QlikView refuses try (400)
	}{
		{name: "defaults", wantTry: "/QlikView/", wantBack: testPublicURL + "t/qv/"},
		{name: "configured try and back", modify: func(c *Config) { c.TryURL = doc; c.BackURL = "/QlikView/login.htm" },
			wantTry: doc, wantBack: "/QlikView/login.htm"},
		{name: "entry path", entry: doc, wantTry: doc, wantBack: testPublicURL + "t/qv/"},
		{name: "entry on the QlikView host", entry: "SIM/QlikView/", wantTry: "SIM/QlikView/", wantBack: testPublicURL + "t/qv/"},
		{name: "entry on an allowed host", modify: func(c *Config) { c.AllowedReturnHosts = []string{"https://portal.example"} },
			entry: "https://portal.example/qv", wantTry: "https://portal.example/qv", wantBack: testPublicURL + "t/qv/"},
		{name: "allowed here but not in QlikView's SafeForwardList", modify: func(c *Config) { c.AllowedReturnHosts = []string{"https://other.example"} },
			entry: "https://other.example/qv", wantTry: "https://other.example/qv", wantBack: testPublicURL + "t/qv/", qlikViewRefus: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget(t, sim, tt.modify)
			fix := func(s string) string { return strings.Replace(s, "SIM", sim.URL(), 1) }
			e, err := tg.ParseEntry(url.Values{"try": {fix(tt.entry)}})
			if err != nil {
				t.Fatal(err)
			}
			redirect := login(t, tg, testUser, e)
			ru, _ := url.Parse(redirect)
			if got := ru.Query().Get("try"); got != fix(tt.wantTry) {
				t.Fatalf("try %q, want %q", got, fix(tt.wantTry))
			}
			if got := ru.Query().Get("back"); got != tt.wantBack {
				t.Fatalf("back %q, want %q", got, tt.wantBack)
			}
			p := get(t, browser(t, true, nil), redirect)
			if tt.qlikViewRefus {
				if p.status != http.StatusBadRequest || !strings.Contains(p.body, "SafeForwardList") {
					t.Fatalf("QlikView answered %d %q, want 400 SafeForwardList", p.status, p.body)
				}
				return
			}
			if p.status != http.StatusFound || p.loc != fix(tt.wantTry) {
				t.Fatalf("QlikView answered %d → %q, want → %q", p.status, p.loc, fix(tt.wantTry))
			}
		})
	}

	t.Run("a stored entry no longer allowed falls back to try_url", func(t *testing.T) {
		tg := newTarget(t, sim, nil)
		ru, _ := url.Parse(login(t, tg, testUser, qlik.Entry{ReturnTo: "https://portal.example/qv"}))
		if got := ru.Query().Get("try"); got != "/QlikView/" {
			t.Fatalf("try %q", got)
		}
	})
	t.Run("no public URL: no back parameter", func(t *testing.T) {
		c := DefaultConfig()
		c.WebTicketURL = sim.WebTicketURL()
		tg, err := Open(context.Background(), qlik.Common{ID: "qv"}, c, qlik.Env{})
		if err != nil {
			t.Fatal(err)
		}
		ru, _ := url.Parse(login(t, tg, testUser, qlik.Entry{}))
		if _, ok := ru.Query()["back"]; ok {
			t.Fatalf("redirect %s has back", ru)
		}
	})
}

func TestAuthenticateURLForBrowsers(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{})
	tg := newTarget(t, sim, func(c *Config) { c.AuthenticateURL = "https://qlikview.corp.com/QvAJAXZfc/Authenticate.aspx" })
	redirect := login(t, tg, testUser, qlik.Entry{})
	if !strings.HasPrefix(redirect, "https://qlikview.corp.com/QvAJAXZfc/Authenticate.aspx?") {
		t.Fatalf("redirect %s", redirect)
	}
}
