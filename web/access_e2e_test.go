package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// accessSite is a stack with every target kind: sense (sense-ticket),
// session (sense-session), qv (qlikview) and cloud.
type accessSite struct {
	*stack
	qv     *qliksim.QlikView
	tenant *qliksim.Cloud
}

func newAccessSite(t *testing.T, opts ...option) accessSite {
	t.Helper()
	var a accessSite
	a.stack = newStack(t, append([]option{withQlikView(&a.qv), withCloud(&a.tenant)}, opts...)...)
	return a
}

// enter opens target id the way Qlik sends a browser there.
func (a accessSite) enter(t *testing.T, b *webtest.Browser, id string) webtest.Page {
	t.Helper()
	switch id {
	case "sense":
		return b.MustGet(t, a.sim.HubURL())
	case "qv":
		return b.MustGet(t, a.qv.AccessPointURL())
	case "cloud":
		return b.MustGet(t, a.srv.URL+"/t/cloud/?returnto="+url.QueryEscape(a.tenant.URL()+"/hub/spaces"))
	}
	return b.MustGet(t, a.srv.URL+"/t/"+id+"/")
}

// landed reports whether p is target id's answer to a signed-in user:
// the Qlik page showing user, or for Cloud the hand-off page with its JWT.
func landed(p webtest.Page, id, user string) bool {
	if p.Status != http.StatusOK {
		return false
	}
	if id == "cloud" {
		return strings.Contains(p.Body, `id="cloud-handoff"`) && strings.Contains(p.Body, "data-jwt=")
	}
	return p.HubUser() == `CORP\`+user
}

// qlikCalls counts what every simulator was asked for: any QPS request
// (tickets, sessions), QlikView web tickets, Cloud JWT logins.
func (a accessSite) qlikCalls() int64 {
	sense, qv, cl := a.sim.Stats(), a.qv.Stats(), a.tenant.Stats()
	return sense.QPSRequests + sense.TicketsIssued + sense.SessionsCreated + qv.TicketsIssued + qv.InvalidCalls + cl.Logins + cl.LoginsRejected
}

// mustBeDenied checks a 403 "no access" page that reveals no rule and
// carries nothing for Qlik, and that Qlik was asked for nothing.
func (a accessSite) mustBeDenied(t *testing.T, p webtest.Page, callsBefore int64, hidden ...string) {
	t.Helper()
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "this account may not open this application") {
		t.Fatalf("want the 403 no-access page, got %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if n := a.qlikCalls(); n != callsBefore {
		t.Errorf("Qlik was called %d times for a user who may not enter", n-callsBefore)
	}
	for _, h := range append(hidden, "denied_group", "not_in_allowed_groups", "provider_not_allowed", "qlikTicket", "data-jwt", "webticket") {
		if strings.Contains(strings.ToLower(p.Body), strings.ToLower(h)) {
			t.Errorf("the no-access page reveals %q:\n%s", h, p.Body)
		}
	}
	if !signOutForm.MatchString(p.Body) {
		t.Errorf("the no-access page offers no way to sign out:\n%s", p.Body)
	}
}

var signOutForm = regexp.MustCompile(`<form method="post" action="(/logout)">\s*<input type="hidden" name="csrf" value="([^"]+)">`)

// TestAccessDeniedGroupEveryKind: for each target kind, a member of a
// denied group gets the 403 page and Qlik is asked for nothing, whether
// they sign in there or arrive signed in (single sign-on); they stay
// signed in for the other targets; a user outside the group passes.
func TestAccessDeniedGroupEveryKind(t *testing.T) {
	for _, tc := range []struct{ target, other string }{
		// The other target must not share the denied one's virtual proxy,
		// or its proxy session would let the browser into the hub directly.
		{"sense", "qv"}, {"session", "qv"}, {"qv", "sense"}, {"cloud", "sense"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			// "sales" in the rule, "Sales" from the directory: group names
			// compare without case, as Active Directory's do.
			a := newAccessSite(t, withPartners(), withAccess(tc.target, qlik.Access{DeniedGroups: []string{"sales"}}))

			// A fresh sign-in at the denied target.
			b := webtest.NewBrowser()
			login := a.enter(t, b, tc.target)
			if !login.IsLoginPage() {
				t.Fatalf("entry did not show the login page: %d %s\n%s", login.Status, login.URL, login.Body)
			}
			before := a.qlikCalls()
			denied := b.MustPostForm(t, a.srv.URL+"/login", accessLoginForm(t, login, "alice"))
			a.mustBeDenied(t, denied, before, "sales")
			if !strings.Contains(denied.Body, "Alice") {
				t.Errorf("the no-access page does not say who is signed in:\n%s", denied.Body)
			}
			want := fmt.Sprintf(`event=access_denied target=%s user=alice provider=local rule="denied_group=sales"`, tc.target)
			if !strings.Contains(a.logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, a.logs)
			}
			// Still signed in: the other target lets alice straight in.
			if p := a.enter(t, b, tc.other); !landed(p, tc.other, "alice") {
				t.Fatalf("after the refusal, %s did not pass alice through: %d %s\n%s", tc.other, p.Status, p.URL, p.Body)
			}

			// Single sign-on: signed in at the other target, then entering
			// the denied one.
			b2 := webtest.NewBrowser()
			login = a.enter(t, b2, tc.other)
			if p := b2.MustPostForm(t, a.srv.URL+"/login", accessLoginForm(t, login, "alice")); !landed(p, tc.other, "alice") {
				t.Fatalf("login at %s: %d %s\n%s", tc.other, p.Status, p.URL, p.Body)
			}
			before = a.qlikCalls()
			a.mustBeDenied(t, a.enter(t, b2, tc.target), before, "sales")
			if p := a.enter(t, b2, tc.other); !landed(p, tc.other, "alice") {
				t.Fatalf("after a single sign-on refusal, %s did not pass alice through: %d\n%s", tc.other, p.Status, p.Body)
			}

			// A user outside the denied group enters.
			b3 := webtest.NewBrowser()
			login = a.enter(t, b3, tc.target)
			if p := b3.MustPostForm(t, a.srv.URL+"/login", accessLoginForm(t, login, "carol")); !landed(p, tc.target, "carol") {
				t.Fatalf("carol, in no denied group, did not enter %s: %d %s\n%s", tc.target, p.Status, p.URL, p.Body)
			}

			// The way out: the page's own sign-out form, then another account.
			m := signOutForm.FindStringSubmatch(denied.Body)
			// (Having entered QlikView, the sign-out may end on its page.)
			if out := b.MustPostForm(t, a.srv.URL+m[1], url.Values{"csrf": {m[2]}}); out.Status != http.StatusOK {
				t.Fatalf("sign-out from the no-access page: %d\n%s", out.Status, out.Body)
			}
			if login = a.enter(t, b, tc.target); !login.IsLoginPage() {
				t.Fatalf("still signed in after the no-access page's sign-out: %d %s\n%s", login.Status, login.URL, login.Body)
			}
			if p := b.MustPostForm(t, a.srv.URL+"/login", accessLoginForm(t, login, "carol")); !landed(p, tc.target, "carol") {
				t.Fatalf("signing in as carol after the refusal: %d %s\n%s", p.Status, p.URL, p.Body)
			}

			metric := fmt.Sprintf(`qlikgate_handoffs_total{kind=%q,result="denied",target=%q} 2`, kindOf(tc.target), tc.target)
			if m := b.MustGet(t, a.srv.URL+"/metrics"); !strings.Contains(m.Body, metric) {
				t.Errorf("/metrics lacks %s", metric)
			}
		})
	}
}

// kindOf is the kind label newStack gives the target's metrics.
func kindOf(id string) string {
	return map[string]string{"sense": "sense-ticket", "session": "sense-session"}[id]
}

// accessLoginForm fills login's form for user, choosing the user's provider.
func accessLoginForm(t *testing.T, login webtest.Page, user string) url.Values {
	t.Helper()
	f := login.MustLoginForm(t, user, user+"pw")
	f.Set("provider", map[string]string{"carol": "partners"}[user])
	if f.Get("provider") == "" {
		f.Set("provider", "local")
	}
	return f
}

// withPartners adds a second password provider, "partners", whose user
// carol is in the EU group.
func withPartners() option {
	return withProvider(func(t testing.TB, _ string, log *slog.Logger) web.Provider {
		h, err := static.HashPassword("carolpw", cheap)
		if err != nil {
			t.Fatal(err)
		}
		p, err := static.Open(context.Background(), providers.Common{ID: "partners"}, &static.Config{Users: []static.User{
			{Username: "carol", PasswordHash: h, Name: "Carol", Email: "carol@partner.example", Groups: []string{"EU"}},
		}}, providers.Env{Log: log})
		if err != nil {
			t.Fatal(err)
		}
		return web.Provider{Common: providers.Common{ID: "partners", Kind: "static", Label: "Partners", Directory: "CORP"}, Impl: p}
	})
}

// TestAccessAllowedProvidersAndGroups: with two providers, sense admits
// only users of "local", session only members of EU (whatever their
// provider), cloud only EU members of "local".
func TestAccessAllowedProvidersAndGroups(t *testing.T) {
	a := newAccessSite(t, withPartners(),
		withAccess("sense", qlik.Access{AllowedProviders: []string{"local"}}),
		withAccess("session", qlik.Access{AllowedGroups: []string{"Admins", "eu"}}),
		withAccess("cloud", qlik.Access{AllowedProviders: []string{"local"}, AllowedGroups: []string{"EU"}}),
	)
	// alice: local, Sales and EU. bob: local, no groups. carol: partners, EU.
	tests := []struct {
		user, provider, target string
		rule                   string // "" when the user enters
	}{
		{"alice", "local", "sense", ""},
		{"alice", "local", "session", ""},
		{"alice", "local", "cloud", ""},
		{"bob", "local", "sense", ""},
		{"bob", "local", "session", "not_in_allowed_groups"},
		{"bob", "local", "cloud", "not_in_allowed_groups"}, // refused before Cloud would want his e-mail
		{"carol", "partners", "sense", "provider_not_allowed"},
		{"carol", "partners", "session", ""},
		{"carol", "partners", "cloud", "provider_not_allowed"},
		{"carol", "partners", "qv", ""}, // no rules: everyone signed in
	}
	for _, tt := range tests {
		t.Run(tt.user+"@"+tt.target, func(t *testing.T) {
			b := webtest.NewBrowser()
			login := a.enter(t, b, tt.target)
			before := a.qlikCalls()
			p := b.MustPostForm(t, a.srv.URL+"/login", accessLoginForm(t, login, tt.user))
			if tt.rule == "" {
				if !landed(p, tt.target, tt.user) {
					t.Fatalf("%s did not enter %s: %d %s\n%s", tt.user, tt.target, p.Status, p.URL, p.Body)
				}
				return
			}
			a.mustBeDenied(t, p, before, "Admins", "partners")
			want := fmt.Sprintf("event=access_denied target=%s user=%s provider=%s rule=%s", tt.target, tt.user, tt.provider, tt.rule)
			if !strings.Contains(a.logs.String(), want) {
				t.Errorf("log lacks %q", want)
			}
		})
	}
}

// TestReloadingTheNoAccessPageIsNoLoop: a user who reloads the 403 page
// quickly is sent nowhere, so the redirect-loop guard must not count it
// and turn the page into the loop diagnosis.
func TestReloadingTheNoAccessPageIsNoLoop(t *testing.T) {
	a := newAccessSite(t, withPartners(), withAccess("sense", qlik.Access{DeniedGroups: []string{"sales"}}))
	b := webtest.NewBrowser()
	login := a.enter(t, b, "qv")
	if p := b.MustPostForm(t, a.srv.URL+"/login", accessLoginForm(t, login, "alice")); !landed(p, "qv", "alice") {
		t.Fatalf("login at qv: %d %s", p.Status, p.URL)
	}
	for i := range 12 {
		if p := a.enter(t, b, "sense"); p.Status != http.StatusForbidden {
			t.Fatalf("entry %d at the denied target: %d, want 403 every time\n%s", i+1, p.Status, p.Body)
		}
	}
	if strings.Contains(a.logs.String(), "event=redirect_loop") {
		t.Error("reloading the no-access page was logged as a redirect loop")
	}
}
