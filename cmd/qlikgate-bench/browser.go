package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// maxHops bounds the redirects one navigation follows, like a browser.
const maxHops = 10

// browser is one virtual user's browser: its own keep-alive connections and
// cookie jar. It follows redirects itself so that it can time every hop and
// tell the time spent waiting on qlikgate from the time spent at Qlik.
type browser struct {
	client     *http.Client
	moduleHost string // host:port of qlikgate
}

// newBrowser returns a browser with an empty cookie jar. Each virtual user
// keeps its connections, as a browser does; a reverse proxy in front of
// qlikgate would keep them too.
func newBrowser(moduleURL string) (*browser, error) {
	u, err := url.Parse(moduleURL)
	if err != nil {
		return nil, fmt.Errorf("qlikgate's URL %q: %w", moduleURL, err)
	}
	jar, _ := cookiejar.New(nil) // never fails without options
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &browser{
		client: &http.Client{
			Jar:           jar,
			Transport:     tr,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		moduleHost: u.Host,
	}, nil
}

// forget empties the cookie jar: the next navigation is a new browser
// session, as a new user's would be.
func (b *browser) forget() {
	b.client.Jar, _ = cookiejar.New(nil)
}

// close drops the browser's idle connections.
func (b *browser) close() {
	b.client.Transport.(*http.Transport).CloseIdleConnections()
}

// setCookie puts a cookie into the jar for u, replacing one of that name.
func (b *browser) setCookie(u string, c *http.Cookie) error {
	pu, err := url.Parse(u)
	if err != nil {
		return err
	}
	b.client.Jar.SetCookies(pu, []*http.Cookie{c})
	return nil
}

// cookie returns the jar's cookie called name for u, or nil.
func (b *browser) cookie(u, name string) *http.Cookie {
	return (&webtest.Browser{Client: b.client}).Cookie(u, name)
}

// get navigates to u and follows redirects. module is the time spent
// waiting on qlikgate.
func (b *browser) get(ctx context.Context, u string) (p webtest.Page, module time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return webtest.Page{}, 0, err
	}
	return b.navigate(ctx, req)
}

// submit posts a form to u and follows redirects.
func (b *browser) submit(ctx context.Context, u string, form url.Values) (p webtest.Page, module time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return webtest.Page{}, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.navigate(ctx, req)
}

func (b *browser) navigate(ctx context.Context, req *http.Request) (webtest.Page, time.Duration, error) {
	var module time.Duration
	for range maxHops {
		p, d, err := b.do(req)
		module += d
		if err != nil {
			return p, module, err
		}
		loc := p.Header.Get("Location")
		if p.Status < 300 || p.Status > 399 || loc == "" {
			return p, module, nil
		}
		next, err := p.URL.Parse(loc)
		if err != nil {
			return p, module, fmt.Errorf("%d from %s: bad Location %q: %w", p.Status, p.URL.Redacted(), loc, err)
		}
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil); err != nil {
			return p, module, err
		}
	}
	return webtest.Page{}, module, fmt.Errorf("more than %d redirects from %s", maxHops, req.URL.Redacted())
}

// do sends req and reads the whole answer.
func (b *browser) do(req *http.Request) (webtest.Page, time.Duration, error) {
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return webtest.Page{}, 0, fmt.Errorf("%s %s://%s%s: %w", req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path, unwrapURLError(err))
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var module time.Duration
	if req.URL.Host == b.moduleHost {
		module = time.Since(start)
	}
	if err != nil {
		return webtest.Page{}, module, fmt.Errorf("%s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	return webtest.Page{Status: resp.StatusCode, URL: req.URL, Body: string(body), Header: resp.Header}, module, nil
}

// unwrapURLError drops url.Error's copy of the URL, which may carry a ticket.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

var formActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)" class="login"`)

// formAction resolves the login form's action against the page's URL.
func formAction(p webtest.Page) (string, error) {
	m := formActionRe.FindStringSubmatch(p.Body)
	if m == nil {
		return "", fmt.Errorf("the login page at %s has no password form", p.URL.Redacted())
	}
	u, err := p.URL.Parse(m[1])
	if err != nil {
		return "", fmt.Errorf("login form action %q: %w", m[1], err)
	}
	return u.String(), nil
}
