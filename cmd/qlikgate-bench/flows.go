package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/web/webtest"
)

// The cookies qlikgate sets.
const (
	sessionCookie = "qlikgate"
	loopCookie    = "qlikgate_loop" // the redirect-loop guard's counter
)

// flowSpec is one kind of flow that virtual users repeat.
type flowSpec struct {
	name string
	// prepare readies virtual user i (its browser; for sso, a first
	// login) and returns it. Preparation is not measured.
	prepare func(ctx context.Context, i int) (*virtualUser, error)
}

// virtualUser repeats one flow.
type virtualUser struct {
	// iterate runs the flow once; module is the part of its time spent
	// waiting on qlikgate (the rest is the hub and the client).
	iterate func(ctx context.Context) (module time.Duration, err error)
	close   func()
}

// entrance is where virtual users go in and what they must find at Qlik.
type entrance struct {
	// start is where a full login starts: the Qlik hub, which sends an
	// anonymous browser to qlikgate with proxyRestUri and targetId, or
	// (-url mode) qlikgate's entry URL.
	start     string
	moduleURL string // qlikgate's public URL, ending in "/"
	// hubShowsUser is set when Qlik is qliksim, whose hub page names the
	// signed-in user: the flow then checks it is DIRECTORY\user.
	hubShowsUser bool
	// floor is set when the module is the floor server: sso iterations
	// present its plain cookie instead of qlikgate's session cookie.
	floor bool
	// wire is set when the floor answers like qlikgate's hand-off
	// (floorServer.wire): sso iterations present qlikgate's session
	// cookie beside the floor's, and one hand-off through qlikgate's web
	// layer, before the iterations, gives the floor the answer to copy.
	wire bool
}

// signIn is one account at one provider.
type signIn struct {
	provider  string // provider id posted with the form; "" leaves the form's choice
	directory string // the Qlik user directory the hub must show
	account
}

// loginFlow is a full login per iteration: a new browser session opens
// Qlik, is sent to the login page, posts the form (CSRF token and flow id
// from the page) and follows the hand-off until the hub has consumed the
// ticket. Each virtual user signs in as its own account.
func loginFlow(name string, e entrance, who func(i int) signIn) flowSpec {
	return flowSpec{name: name, prepare: func(ctx context.Context, i int) (*virtualUser, error) {
		b, err := newBrowser(e.moduleURL)
		if err != nil {
			return nil, err
		}
		s := who(i)
		return &virtualUser{close: b.close, iterate: func(ctx context.Context) (time.Duration, error) {
			b.forget()
			_, _, module, err := fullLogin(ctx, b, e, s)
			return module, err
		}}, nil
	}}
}

// signedInBrowser is a new browser after one full login of s (not
// measured): the entry URL, qlikgate's base path and its session cookie,
// which the single sign-on flows present at every iteration.
func signedInBrowser(ctx context.Context, e entrance, s signIn) (b *browser, entry, base string, signedIn *http.Cookie, err error) {
	if b, err = newBrowser(e.moduleURL); err != nil {
		return nil, "", "", nil, err
	}
	entry, base, _, err = fullLogin(ctx, b, e, s)
	if err != nil {
		b.close()
		return nil, "", "", nil, fmt.Errorf("first login of %s: %w", s.name, err)
	}
	c := b.cookie(e.moduleURL, sessionCookie)
	if c == nil {
		b.close()
		return nil, "", "", nil, fmt.Errorf("first login of %s: qlikgate set no %q cookie", s.name, sessionCookie)
	}
	return b, entry, base, &http.Cookie{Name: c.Name, Value: c.Value, Path: base}, nil
}

// ssoFlow is the single sign-on hand-off: each virtual user signs in once
// (not measured), then repeatedly comes back to qlikgate's entry URL, as a
// browser does when its Qlik session has ended, and is handed over to Qlik
// at once. Every iteration presents the cookie of that first login and no
// redirect-loop counter, as the many users a virtual user stands for would
// each present their own: keeping the counter qlikgate sets would make one
// browser bounce back dozens of times a second, which the guard rightly
// stops.
// The entry URL carries the targetId the proxy made for this virtual user;
// the proxy's own redirect is not repeated (it is Qlik's work, and qliksim
// keeps every targetId for ten minutes).
func ssoFlow(e entrance, who func(i int) signIn) flowSpec {
	return flowSpec{name: flowSSO, prepare: func(ctx context.Context, i int) (*virtualUser, error) {
		s := who(i)
		b, entry, base, signedIn, err := signedInBrowser(ctx, e, s)
		if err != nil {
			return nil, err
		}
		noCounter := &http.Cookie{Name: loopCookie, Path: base, MaxAge: -1}
		cookies := []*http.Cookie{signedIn, noCounter}
		switch {
		case e.wire:
			// qlikgate hands over once more, from the session cookie
			// alone, for the floor to record its answer; then the floor
			// cookie travels beside the session cookie.
			if _, _, err := b.get(ctx, entry); err != nil {
				b.close()
				return nil, fmt.Errorf("hand-off through qlikgate for the wire variant: %w", err)
			}
			cookies = append(cookies, newFloorCookie(s, base))
		case e.floor:
			// Only the floor cookie travels, not the session cookie;
			// the emptied jar gets the hub's cookie back at the first
			// hand-off, as the other variants' jars hold it.
			b.forget()
			cookies[0] = newFloorCookie(s, base)
		}
		return &virtualUser{close: b.close, iterate: func(ctx context.Context) (time.Duration, error) {
			for _, c := range cookies {
				if err := b.setCookie(e.moduleURL, c); err != nil {
					return 0, err
				}
			}
			p, module, err := b.get(ctx, entry)
			if err != nil {
				return module, err
			}
			return module, checkAtQlik(p, e, s)
		}}, nil
	}}
}

// fullLogin signs in from a new browser session. It returns the entry URL
// qlikgate was reached at and the path qlikgate's pages live under.
func fullLogin(ctx context.Context, b *browser, e entrance, s signIn) (entry, base string, module time.Duration, err error) {
	page, m1, err := b.get(ctx, e.start)
	module += m1
	if err != nil {
		return "", "", module, err
	}
	if page.Status != http.StatusOK || !page.IsLoginPage() {
		return "", "", module, fmt.Errorf("opening %s: want the login page, got %d at %s", e.start, page.Status, page.URL.Path)
	}
	form, err := page.LoginForm(s.name, s.password)
	if err != nil {
		return "", "", module, err
	}
	if s.provider != "" {
		form.Set("provider", s.provider)
	}
	action, err := formAction(page)
	if err != nil {
		return "", "", module, err
	}
	hub, m2, err := b.submit(ctx, action, form)
	module += m2
	if err != nil {
		return "", "", module, err
	}
	if err := checkAtQlik(hub, e, s); err != nil {
		return "", "", module, err
	}
	actionURL, _ := url.Parse(action)
	return page.URL.String(), strings.TrimSuffix(actionURL.Path, "login"), module, nil
}

// checkAtQlik checks that a navigation ended signed in at Qlik.
func checkAtQlik(p webtest.Page, e entrance, s signIn) error {
	switch {
	case p.Status == http.StatusTooManyRequests:
		return errors.New("throttled by qlikgate (429): the run is distorted")
	case p.Status != http.StatusOK:
		return fmt.Errorf("ended with %d at %s%s", p.Status, p.URL.Host, p.URL.Path)
	case p.IsLoginPage():
		msg := p.Message()
		if msg == "" {
			msg = "no message"
		}
		return fmt.Errorf("ended on the login page (%s)", msg)
	case e.hubShowsUser:
		want := s.directory + `\` + s.name
		if got := p.HubUser(); got != want {
			return fmt.Errorf("the hub shows %q, want %q", got, want)
		}
	}
	return nil
}
