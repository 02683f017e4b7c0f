package cloud

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// moduleOrigin is where qlikgate's hand-off page runs in these tests.
const moduleOrigin = "https://auth.example.com"

// startTenant starts a simulated tenant trusting the public key of alg.
func startTenant(t *testing.T, alg string, origins ...string) *qliksim.Cloud {
	t.Helper()
	if origins == nil {
		origins = []string{moduleOrigin}
	}
	sim, err := qliksim.NewCloud(qliksim.CloudOptions{
		IdPs:             []qliksim.CloudIdP{{Issuer: "qlikgate.test", KeyID: "qlikgate-1", PEM: keyPair(t, alg).public}},
		WebIntegrationID: "wi-7Hq2",
		ValidOrigins:     origins,
		LoginURL:         moduleOrigin + "/t/cloud/",
		Logf:             t.Logf,
	})
	if err != nil {
		t.Fatalf("NewCloud: %v", err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// browser emulates what a browser does for the hand-off page's fetch
// calls: a CORS preflight for requests with non-safelisted headers, the
// Origin header, cookies kept in a jar (unless it blocks third-party
// cookies), and the CORS check on every answer.
type browser struct {
	t      *testing.T
	http   *http.Client // with the cookie jar, or without when cookies are blocked
	bare   *http.Client // preflights carry no cookies
	origin string
}

func newBrowser(t *testing.T, sim *qliksim.Cloud, blockCookies bool) *browser {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: sim.PKI().CertPool(), MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: noRedirect}
	if !blockCookies {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Jar = jar
	}
	return &browser{t: t, http: c, bare: &http.Client{Transport: tr, Timeout: 10 * time.Second}, origin: moduleOrigin}
}

// fetch is the script's fetch(url, {method, headers, mode: 'cors',
// credentials: 'include'}). It returns the status, or an error where the
// browser would reject the promise (network or CORS failure).
func (b *browser) fetch(method, u string, headers map[string]string) (int, error) {
	var custom []string
	for k, v := range headers {
		if !safelisted(k, v) {
			custom = append(custom, strings.ToLower(k))
		}
	}
	sort.Strings(custom)
	if len(custom) > 0 {
		pre, err := http.NewRequest(http.MethodOptions, u, nil)
		if err != nil {
			return 0, err
		}
		pre.Header.Set("Origin", b.origin)
		pre.Header.Set("Access-Control-Request-Method", method)
		pre.Header.Set("Access-Control-Request-Headers", strings.Join(custom, ","))
		resp, err := b.bare.Do(pre)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		if resp.StatusCode/100 != 2 || !b.corsOK(resp) || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), method) {
			return 0, fmt.Errorf("CORS preflight refused: HTTP %d", resp.StatusCode)
		}
		for _, h := range custom {
			if !strings.Contains(allowed, h) {
				return 0, fmt.Errorf("CORS preflight does not allow header %s", h)
			}
		}
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return 0, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Origin", b.origin)
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if !b.corsOK(resp) {
		return 0, fmt.Errorf("CORS check failed on HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// safelisted reports whether a request header keeps a request "simple"
// (no preflight). Authorization and custom headers never do; Content-Type
// only with the three form types.
func safelisted(name, value string) bool {
	switch strings.ToLower(name) {
	case "accept", "accept-language", "content-language":
		return true
	case "content-type":
		mt, _, _ := strings.Cut(strings.ToLower(value), ";")
		return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" || mt == "text/plain"
	}
	return false
}

func (b *browser) corsOK(resp *http.Response) bool {
	return resp.Header.Get("Access-Control-Allow-Origin") == b.origin && resp.Header.Get("Access-Control-Allow-Credentials") == "true"
}

// navigate is a top-level GET (no CORS) returning status, Location and body.
func (b *browser) navigate(u string) (int, string, string) {
	b.t.Helper()
	resp, err := b.http.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// outcome is what static/cloud.js ends with.
type outcome string

const (
	navigated   outcome = "navigated"
	unreachable outcome = "cloud-unreachable"
	refused     outcome = "cloud-refused"
	blocked     outcome = "cloud-blocked"
)

// handOff does what static/cloud.js does with the page data.
func (b *browser) handOff(data map[string]any) outcome {
	b.t.Helper()
	get := func(k string) string { return str(b.t, data, k) }
	status, err := b.fetch(http.MethodPost, get(DataSessionURL), map[string]string{
		"Authorization":           "Bearer " + get(DataJWT),
		"Qlik-Web-Integration-ID": get(DataWebIntegrationID),
		"Content-Type":            "application/json",
	})
	switch {
	case err != nil:
		b.t.Logf("jwt-session: %v", err)
		return unreachable
	case status < 200 || status > 299:
		b.t.Logf("jwt-session: HTTP %d", status)
		return refused
	}
	status, err = b.fetch(http.MethodGet, get(DataCheckURL), map[string]string{"Qlik-Web-Integration-ID": get(DataWebIntegrationID)})
	if err != nil || status != http.StatusNoContent {
		b.t.Logf("csrf-token: %d, %v", status, err)
		return blocked
	}
	return navigated
}

func TestHandoffAgainstSimulatedTenant(t *testing.T) {
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg, func(t *testing.T) {
			sim := startTenant(t, alg)
			tg := openTarget(t, testConfig(t, sim.URL(), alg), time.Now())
			b := newBrowser(t, sim, false)

			// The tenant sends an anonymous browser to the module with returnto.
			status, loc, _ := b.navigate(sim.URL() + "/sense/app/0d3e/sheet/1?opt=a%20b")
			lu, err := url.Parse(loc)
			if status != http.StatusFound || err != nil {
				t.Fatalf("anonymous hub: status %d, Location %q", status, loc)
			}
			entry, err := tg.ParseEntry(lu.Query())
			if err != nil {
				t.Fatalf("ParseEntry(%q): %v", lu.RawQuery, err)
			}
			h, err := tg.Login(context.Background(), testUser, entry)
			if err != nil {
				t.Fatal(err)
			}
			data := pageData(t, h)
			if got := b.handOff(data); got != navigated {
				t.Fatalf("hand-off ended with %s", got)
			}

			status, _, body := b.navigate(str(t, data, DataReturnTo))
			for _, want := range []string{`<h1 id="user">jdoe</h1>`, `<p id="name">Jane Doe</p>`, "<li>Sales</li>", "<li>EU</li>", `<p id="path">/sense/app/0d3e/sheet/1</p>`} {
				if !strings.Contains(body, want) {
					t.Errorf("tenant page (HTTP %d) lacks %q:\n%s", status, want, body)
				}
			}
			if u, ok := sim.User("jdoe"); !ok || u.Email != "jane@example.com" || !slices.Equal(u.Groups, testUser.Groups) {
				t.Errorf("tenant user %+v, %v", u, ok)
			}

			// The token is single-use: replaying the page's token fails.
			if got := newBrowser(t, sim, false).handOff(data); got != refused {
				t.Errorf("replayed token: %s, want %s", got, refused)
			}
			// A second login gets a fresh token.
			h2, err := tg.Login(context.Background(), testUser, qlik.Entry{})
			if err != nil {
				t.Fatal(err)
			}
			if got := newBrowser(t, sim, false).handOff(pageData(t, h2)); got != navigated {
				t.Errorf("second login: %s", got)
			}

			// Logout: the module sends the browser to the tenant's /logout.
			out, err := tg.Logout(context.Background(), testUser)
			if err != nil {
				t.Fatal(err)
			}
			if status, _, body := b.navigate(out.Redirect); status != http.StatusOK || !strings.Contains(body, "signedout") {
				t.Errorf("tenant logout: %d %s", status, body)
			}
			if status, _, _ := b.navigate(sim.URL() + "/hub"); status != http.StatusFound {
				t.Errorf("hub after logout: %d, want a redirect to the login", status)
			}
			if s := sim.Stats(); s.Logins != 2 || s.UsersCreated != 1 || s.ReplaysRejected != 1 || s.SessionsEnded != 1 {
				t.Errorf("tenant stats %+v", s)
			}
		})
	}
}

func TestHandoffFailures(t *testing.T) {
	t.Run("third-party cookies blocked", func(t *testing.T) {
		sim := startTenant(t, ES256)
		tg := openTarget(t, testConfig(t, sim.URL(), ES256), time.Now())
		h, err := tg.Login(context.Background(), testUser, qlik.Entry{})
		if err != nil {
			t.Fatal(err)
		}
		if got := newBrowser(t, sim, true).handOff(pageData(t, h)); got != blocked {
			t.Errorf("got %s, want %s", got, blocked)
		}
	})
	t.Run("origin not in the web integration", func(t *testing.T) {
		sim := startTenant(t, ES256, "https://auth.example.com:8443")
		tg := openTarget(t, testConfig(t, sim.URL(), ES256), time.Now())
		h, _ := tg.Login(context.Background(), testUser, qlik.Entry{})
		if got := newBrowser(t, sim, false).handOff(pageData(t, h)); got != unreachable {
			t.Errorf("got %s, want %s", got, unreachable)
		}
		if sim.Stats().Logins != 0 {
			t.Error("the tenant logged in a script from a foreign origin")
		}
	})
	t.Run("wrong web integration id", func(t *testing.T) {
		sim := startTenant(t, ES256)
		cfg := testConfig(t, sim.URL(), ES256)
		cfg.WebIntegrationID = "another"
		h, _ := openTarget(t, cfg, time.Now()).Login(context.Background(), testUser, qlik.Entry{})
		if got := newBrowser(t, sim, false).handOff(pageData(t, h)); got != unreachable {
			t.Errorf("got %s, want %s", got, unreachable)
		}
	})
	t.Run("tenant trusts another key", func(t *testing.T) {
		sim := startTenant(t, RS256)
		h, _ := openTarget(t, testConfig(t, sim.URL(), ES256), time.Now()).Login(context.Background(), testUser, qlik.Entry{})
		if got := newBrowser(t, sim, false).handOff(pageData(t, h)); got != refused {
			t.Errorf("got %s, want %s", got, refused)
		}
	})
	t.Run("qlikgate clock an hour behind", func(t *testing.T) {
		sim := startTenant(t, ES256)
		h, _ := openTarget(t, testConfig(t, sim.URL(), ES256), time.Now().Add(-time.Hour)).Login(context.Background(), testUser, qlik.Entry{})
		if got := newBrowser(t, sim, false).handOff(pageData(t, h)); got != refused {
			t.Errorf("got %s, want %s", got, refused)
		}
	})
}
