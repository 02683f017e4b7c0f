package qlikview

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// testPublicURL is where the (not running) module claims to live; the
// simulator must let back point there, as an administrator would list
// qlikgate in the SafeForwardList.
const testPublicURL = "https://auth.example/"

var testUser = qlik.User{Directory: "CORP", UserID: "jdoe", Groups: []string{"Sales", "EU"}}

// newSim starts a QlikView simulator that trusts 127.0.0.1 unless opts
// says otherwise and sends anonymous browsers to the module.
func newSim(t *testing.T, opts qliksim.QlikViewOptions) *qliksim.QlikView {
	t.Helper()
	if opts.TrustedIPs == nil && opts.Credentials == nil {
		opts.TrustedIPs = []string{"127.0.0.1"}
	}
	opts.Logf = t.Logf
	opts.SafeForwardHosts = append(opts.SafeForwardHosts, "auth.example")
	if opts.LoginURL == "" {
		opts.LoginURL = testPublicURL + "t/qv/"
	}
	sim, err := qliksim.NewQlikView(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// newTarget opens a target for sim; modify adjusts the configuration.
func newTarget(t *testing.T, sim *qliksim.QlikView, modify func(*Config)) *WebTicketTarget {
	t.Helper()
	c := DefaultConfig()
	c.WebTicketURL = sim.WebTicketURL()
	if modify != nil {
		modify(c)
	}
	tg, err := Open(context.Background(), qlik.Common{ID: "qv", Kind: "qlikview"}, c, qlik.Env{PublicURL: testPublicURL, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(tg.client.http.CloseIdleConnections)
	return tg
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// browser keeps cookies; it follows redirects unless noFollow.
func browser(t *testing.T, noFollow bool, roots *http.Transport) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	if roots != nil {
		c.Transport = roots
	}
	if noFollow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

type page struct {
	status int
	url    string // final URL
	loc    string // Location of a redirect
	body   string
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), loc: resp.Header.Get("Location"), body: string(b)}
}

// login hands testUser (or u) over and returns the redirect.
func login(t *testing.T, tg *WebTicketTarget, u qlik.User, e qlik.Entry) string {
	t.Helper()
	h, err := tg.Login(context.Background(), u, e)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if h.Redirect == "" || h.Page != nil || len(h.Cookies) != 0 {
		t.Fatalf("handoff %+v, want a bare redirect", h)
	}
	return h.Redirect
}

// onlySession returns the simulator's single AccessPoint session.
func onlySession(t *testing.T, sim *qliksim.QlikView) qliksim.QlikViewSession {
	t.Helper()
	ss := sim.Sessions()
	if len(ss) != 1 {
		t.Fatalf("%d QlikView sessions, want 1: %+v", len(ss), ss)
	}
	return ss[0]
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
