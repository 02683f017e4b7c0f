package oidctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Login signs username in at the OP the way a browser would: it opens
// authURL (the authorization URL, or a relying-party URL that redirects to
// it, such as qlikgate's /login/{id}), fills in and submits
// the OP's HTML login form, and follows the OP's redirects until one leaves
// the OP. It returns that URL — the relying party's callback with code and
// state, or with error and error_description — without requesting it, so
// the caller decides how to deliver it (Provider.Callback, or a GET through
// the web layer with the same client).
//
// client plays the browser; nil means a new o.Client(). Its cookie jar is
// used and kept; its CheckRedirect is not. Login fails the test if the OP
// does not send the browser back (wrong password, unknown client…).
func (o *OP) Login(t testing.TB, client *http.Client, authURL, username, password string) *url.URL {
	t.Helper()
	u, err := o.Authorize(context.Background(), client, authURL, username, password)
	if err != nil {
		t.Fatalf("oidctest: login as %q: %v", username, err)
	}
	return u
}

// Authorize is Login returning an error instead of failing the test, for
// tests that expect the OP to refuse.
func (o *OP) Authorize(ctx context.Context, client *http.Client, authURL, username, password string) (*url.URL, error) {
	if client == nil {
		client = o.Client()
	}
	issuer, err := url.Parse(o.issuer)
	if err != nil {
		return nil, err
	}
	browser := *client
	var left *url.URL // where the OP sent the browser outside itself
	browser.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != issuer.Host && len(via) > 0 && via[len(via)-1].URL.Host == issuer.Host {
			left = req.URL
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("more than 10 redirects inside the OP")
		}
		return nil
	}

	page, body, err := do(ctx, &browser, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("opening the authorization URL: %w", err)
	}
	if left != nil { // the OP answered at once, e.g. error=login_required for prompt=none
		return left, nil
	}
	if page.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the authorization URL answered %s: %.300s", page.Status, body)
	}
	action, fields, err := loginForm(body, page.Request.URL)
	if err != nil {
		return nil, err
	}
	fields.Set("username", username)
	fields.Set("password", password)

	page, body, err = do(ctx, &browser, http.MethodPost, action.String(), fields)
	if err != nil {
		return nil, fmt.Errorf("submitting the login form: %w", err)
	}
	if left == nil {
		return nil, fmt.Errorf("the OP did not send the browser back (%s): %s", page.Status, formError(body))
	}
	return left, nil
}

func do(ctx context.Context, c *http.Client, method, target string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// loginForm finds the page's form and returns where it posts and its
// fields with their values (the hidden auth request id among them).
func loginForm(page []byte, base *url.URL) (*url.URL, url.Values, error) {
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing the login page: %w", err)
	}
	form := find(doc, "form")
	if form == nil {
		return nil, nil, fmt.Errorf("no form on the login page: %.300s", page)
	}
	action, err := base.Parse(attr(form, "action"))
	if err != nil {
		return nil, nil, fmt.Errorf("login form action: %w", err)
	}
	fields := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			fields.Set(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return action, fields, nil
}

// formError is the message the example OP shows above its button.
func formError(page []byte) string {
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		return ""
	}
	if p := find(doc, "p"); p != nil && p.FirstChild != nil {
		return strings.TrimSpace(p.FirstChild.Data)
	}
	return ""
}

func find(n *html.Node, tag string) *html.Node {
	if n.Type == html.ElementNode && n.Data == tag {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, tag); f != nil {
			return f
		}
	}
	return nil
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
