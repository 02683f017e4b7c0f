package qliksim

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const qvTestLogin = "https://module.example/t/qv/"

var qvTicketRE = regexp.MustCompile(`^<Global><_retval_>([0-9A-F]{40})</_retval_></Global>$`)

// newQV starts a QlikView simulator on a fake clock, trusting 127.0.0.1
// unless opts says otherwise, closed at the end of the test.
func newQV(t *testing.T, opts QlikViewOptions) (*QlikView, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now = clock.Now
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	if opts.LoginURL == "" {
		opts.LoginURL = qvTestLogin
	}
	q, err := NewQlikView(opts)
	if err != nil {
		t.Fatalf("NewQlikView: %v", err)
	}
	t.Cleanup(q.Close)
	return q, clock
}

// qvClient does not follow redirects and keeps cookies, like a browser
// whose every hop the test inspects.
func qvClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := clientWith(t, nil)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

const qvSimpleRequest = `<Global method="GetWebTicket"><UserId>CORP\jdoe</UserId>` +
	`<GroupList><string>Sales</string><string>EU</string></GroupList><GroupsIsNames>true</GroupsIsNames></Global>`

// qvTicket posts body to GetWebTicket.aspx and returns the ticket, failing
// the test on anything else.
func qvGetTicket(t *testing.T, q *QlikView, c *http.Client, body string) string {
	t.Helper()
	r := do(t, c, http.MethodPost, q.WebTicketURL(), body, http.Header{"Content-Type": {"text/xml"}})
	m := qvTicketRE.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("GetWebTicket: status %d, body %q; want a 40-character ticket", r.status, r.body)
	}
	return m[1]
}

// qvAuthURL builds an Authenticate.aspx URL with net/url.
func qvAuthURL(q *QlikView, params map[string]string) string {
	v := url.Values{}
	for k, p := range params {
		v.Set(k, p)
	}
	return q.AuthenticateURL() + "?" + v.Encode()
}

func qvExpectRedirect(t *testing.T, r response, want string) {
	t.Helper()
	if r.status != http.StatusFound || r.header.Get("Location") != want {
		t.Fatalf("got %d Location %q (body %q); want 302 to %q", r.status, r.header.Get("Location"), r.body, want)
	}
}

func qvExpectInvalidCall(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK || r.body != invalidCallBody || strings.Contains(r.body, "<_retval_>0") {
		t.Fatalf("got %d %q; want 200 with Invalid call", r.status, r.body)
	}
}
