// Package webtest is a scripted browser for qlikgate's pages: an HTTP client
// with a cookie jar that follows redirects, plus helpers that read the login
// form and qliksim's hub page. Tests and the load tool drive whole flows with
// it over real HTTP.
package webtest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Browser is a cookie-keeping HTTP client.
type Browser struct {
	Client *http.Client
}

// NewBrowser returns a browser with an empty cookie jar that follows
// redirects.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Browser{Client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// NoFollow returns a browser sharing the cookie jar that stops at redirects.
func (b *Browser) NoFollow() *Browser {
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Browser{Client: &c}
}

// Page is a response, read whole.
type Page struct {
	Status int
	URL    *url.URL // the final URL, after redirects
	Body   string
	Header http.Header
}

// Get fetches u.
func (b *Browser) Get(u string) (Page, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return Page{}, err
	}
	return b.Do(req)
}

// PostForm posts an url-encoded form to u.
func (b *Browser) PostForm(u string, form url.Values) (Page, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

// Do sends req and reads the whole answer.
func (b *Browser) Do(req *http.Request) (Page, error) {
	resp, err := b.Client.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Page{}, fmt.Errorf("%s %s: reading body: %w", req.Method, req.URL, err)
	}
	return Page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body), Header: resp.Header}, nil
}

// MustGet is Get that fails the test on a transport error.
func (b *Browser) MustGet(t testing.TB, u string) Page {
	t.Helper()
	p, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return p
}

// MustPostForm is PostForm that fails the test on a transport error.
func (b *Browser) MustPostForm(t testing.TB, u string, form url.Values) Page {
	t.Helper()
	p, err := b.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return p
}

// Cookie returns the browser's cookie called name for u, or nil. (A cookie
// jar does not separate ports: cookies of every port of a host are there.)
func (b *Browser) Cookie(u, name string) *http.Cookie {
	pu, err := url.Parse(u)
	if err != nil {
		return nil
	}
	for _, c := range b.Client.Jar.Cookies(pu) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var (
	csrfRe     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	flowRe     = regexp.MustCompile(`name="flow" value="([^"]*)"`)
	hubUserRe  = regexp.MustCompile(`<h1 id="user">([^<]*)</h1>`)
	messageRe  = regexp.MustCompile(`id="message">([^<]*)<`)
	errMissing = errors.New("not a login page")
)

// IsLoginPage reports whether the page shows qlikgate's password form.
func (p Page) IsLoginPage() bool {
	return strings.Contains(p.Body, `id="password"`) && csrfRe.MatchString(p.Body)
}

// LoginForm fills the page's login form with a username and password.
func (p Page) LoginForm(username, password string) (url.Values, error) {
	csrf := csrfRe.FindStringSubmatch(p.Body)
	flow := flowRe.FindStringSubmatch(p.Body)
	if csrf == nil || flow == nil {
		return nil, fmt.Errorf("%w: %d %s", errMissing, p.Status, p.URL)
	}
	return url.Values{"csrf": {csrf[1]}, "flow": {flow[1]}, "username": {username}, "password": {password}}, nil
}

// MustLoginForm is LoginForm that fails the test when the page has no form.
func (p Page) MustLoginForm(t testing.TB, username, password string) url.Values {
	t.Helper()
	f, err := p.LoginForm(username, password)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Body)
	}
	return f
}

// HubUser returns the DIRECTORY\user qliksim's hub page shows, or "".
func (p Page) HubUser() string {
	m := hubUserRe.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], `&#92;`, `\`)
}

// Message returns the text of the page's message element, or "".
func (p Page) Message() string {
	m := messageRe.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

var logoutCSRFRe = regexp.MustCompile(`<form method="post" action="([^"]*)">\s*<input type="hidden" name="csrf" value="([^"]+)">`)

// Logout signs out like a user: it opens the logout address and, when
// qlikgate asks for confirmation, posts the form with its CSRF token. It
// returns the last page (the signed-out page, or a target's redirect for a
// browser that does not follow redirects).
func (b *Browser) Logout(logoutURL string) (Page, error) {
	p, err := b.Get(logoutURL)
	if err != nil {
		return p, err
	}
	m := logoutCSRFRe.FindStringSubmatch(p.Body)
	if m == nil {
		return p, nil // not signed in: already the signed-out page
	}
	u, err := p.URL.Parse(m[1])
	if err != nil {
		return p, err
	}
	return b.PostForm(u.String(), url.Values{"csrf": {m[2]}})
}

// MustLogout is Logout that fails the test on a transport error.
func (b *Browser) MustLogout(t testing.TB, logoutURL string) Page {
	t.Helper()
	p, err := b.Logout(logoutURL)
	if err != nil {
		t.Fatalf("logout %s: %v", logoutURL, err)
	}
	return p
}
