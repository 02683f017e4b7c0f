package ldap_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// kerberosHost is the host name of qlikgate in the Kerberos tests: the SPN
// HTTP/qlikgate.test of the Samba fixture. Clients reach it on 127.0.0.1
// without /etc/hosts (a dialer here, --resolve for curl).
const kerberosHost = "qlikgate.test"

// kerberosStack is qlikgate at http://qlikgate.test:PORT/ with the ldap
// provider "corp" on the Samba DC, Kerberos on, behind the simulated hub.
// Its user base is CN=Users, so olga (OU=Elsewhere) has a ticket but no
// entry.
func kerberosStack(t testing.TB, s *ldaptest.Samba, mods ...func(*web.Config)) changeStack {
	t.Helper()
	return newStackAt(t, ldap.SambaConfig(s, func(c *ldap.Config) {
		c.UserBase = "CN=Users," + s.BaseDN
		c.Kerberos = &ldap.KerberosConfig{KeytabFile: s.Keytab, ServicePrincipal: s.SPN}
	}), kerberosHost, mods...)
}

// negotiatingBrowser answers a 401 Negotiate challenge once with the
// header token gives, as a browser with a Kerberos ticket does; with token
// nil it is a browser without one. It counts the challenges it saw.
type negotiatingBrowser struct {
	*webtest.Browser
	token      func() (string, error)
	challenges atomic.Int32
	mutual     atomic.Value // the WWW-Authenticate of the last accepted token
	sent       atomic.Value // the last Authorization header sent
}

func newNegotiatingBrowser(token func() (string, error)) *negotiatingBrowser {
	b := &negotiatingBrowser{Browser: webtest.NewBrowser(), token: token}
	dialer := &net.Dialer{}
	base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if host == kerberosHost {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}}
	b.Client.Transport = roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "Negotiate" {
			if err == nil && resp.StatusCode < 400 && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Negotiate ") {
				b.mutual.Store(resp.Header.Get("WWW-Authenticate"))
			}
			return resp, err
		}
		b.challenges.Add(1)
		if b.token == nil || r.Header.Get("Authorization") != "" {
			return resp, nil
		}
		h, err := b.token()
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		// The cookies of the 401 (the flow) go with the answer.
		b.Client.Jar.SetCookies(r.URL, resp.Cookies())
		r2 := r.Clone(r.Context())
		r2.Header.Del("Cookie")
		for _, c := range b.Client.Jar.Cookies(r.URL) {
			r2.AddCookie(c)
		}
		r2.Header.Set("Authorization", h)
		b.sent.Store(h)
		return b.Client.Transport.(roundTripper)(r2)
	})
	return b
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestKerberosThroughQlikSamba is Windows sign-in from the Qlik hub to the
// hub over real HTTP, with tickets of the Samba KDC from a pure-Go client:
// no page for a user with a ticket, the form at once (in the 401's body)
// for a browser without one, every refusal on the form with its log
// reason and never a second challenge, and sign-out staying signed out.
func TestKerberosThroughQlikSamba(t *testing.T) {
	s := ldap.NeedSamba(t)
	st := kerberosStack(t, s)
	alice, err := s.KerberosClient("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alice.Destroy)
	aliceToken := func() (string, error) { return ldaptest.NegotiateHeader(alice, s.SPN) }

	t.Run("ticket: the hub with no page", func(t *testing.T) {
		b := newNegotiatingBrowser(aliceToken)
		hub := b.MustGet(t, st.hub)
		if hub.HubUser() != `CORP\alice` {
			t.Fatalf("%d %s %q, want the hub as CORP\\alice", hub.Status, hub.URL, hub.Body)
		}
		if n := b.challenges.Load(); n != 1 {
			t.Errorf("%d challenges, want 1", n)
		}
		if m, _ := b.mutual.Load().(string); m != "Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg==" {
			t.Errorf("mutual authentication header %q", m)
		}
		// The token is a credential: no log line may carry it.
		if tok, _ := b.sent.Load().(string); len(tok) < 100 || strings.Contains(st.logs.String(), tok[len("Negotiate "):len("Negotiate ")+64]) {
			t.Errorf("the Negotiate token (%d bytes) is in the log", len(tok))
		}
		if !strings.Contains(st.logs.String(), "event=login_succeeded provider=corp user=alice") ||
			!strings.Contains(st.logs.String(), "method=kerberos") {
			t.Errorf("no login_succeeded with method=kerberos in the log")
		}

		// Sign-out stays signed out: the entry shows the form, no challenge.
		b.MustLogout(t, st.url+"/logout")
		login := b.MustGet(t, st.hub)
		if login.Status != http.StatusOK || !login.IsLoginPage() || !strings.Contains(login.Body, `id="negotiate"`) {
			t.Fatalf("after sign-out: %d %s, want the form with the Windows button", login.Status, login.URL)
		}
		if n := b.challenges.Load(); n != 1 {
			t.Fatalf("after sign-out: %d challenges, want still 1", n)
		}
		// The button negotiates, once.
		flow := login.MustLoginForm(t, "", "").Get("flow")
		hub = b.MustGet(t, st.url+"/negotiate?flow="+flow)
		if hub.HubUser() != `CORP\alice` || b.challenges.Load() != 2 {
			t.Fatalf("the Windows button: %d %s, %d challenges; want the hub as CORP\\alice after 2", hub.Status, hub.URL, b.challenges.Load())
		}
	})

	t.Run("no ticket: the form in the 401, then the password", func(t *testing.T) {
		b := newNegotiatingBrowser(nil)
		login := b.MustGet(t, st.hub)
		if login.Status != http.StatusUnauthorized || login.Header.Get("WWW-Authenticate") != "Negotiate" || !login.IsLoginPage() {
			t.Fatalf("%d %q, want 401 Negotiate with the login form", login.Status, login.Header.Get("WWW-Authenticate"))
		}
		if strings.Contains(login.Body, `id="negotiate"`) {
			t.Errorf("the 401 page offers the Windows button, which would only challenge again")
		}
		hub := b.MustPostForm(t, st.url+"/login", login.MustLoginForm(t, "bob", s.Password("bob")))
		if hub.HubUser() != `CORP\bob` || b.challenges.Load() != 1 {
			t.Fatalf("password after the 401: %d %s, %d challenges", hub.Status, hub.URL, b.challenges.Load())
		}
	})

	olga, err := s.KerberosClient("olga")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(olga.Destroy)
	kira, err := s.KerberosClient("kira")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kira.Destroy)
	refusals := []struct {
		name, reason string
		token        func(t *testing.T) func() (string, error)
	}{
		{"NTLM token", "ntlm_token", func(*testing.T) func() (string, error) {
			return func() (string, error) {
				return "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==", nil
			}
		}},
		{"ticket for another SPN", "wrong_service_principal", func(*testing.T) func() (string, error) {
			return func() (string, error) { return ldaptest.NegotiateHeader(alice, s.OtherSPN) }
		}},
		{"replayed token", "replayed_authenticator", func(t *testing.T) func() (string, error) {
			h, err := aliceToken()
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Negotiate "))
			if _, _, err := st.p.Negotiate(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			return func() (string, error) { return h, nil }
		}},
		{"user not in the directory", "unknown_user", func(*testing.T) func() (string, error) {
			return func() (string, error) { return ldaptest.NegotiateHeader(olga, s.SPN) }
		}},
		{"account disabled", "account_disabled", func(t *testing.T) func() (string, error) {
			h, err := ldaptest.NegotiateHeader(kira, s.SPN)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetDisabled("kira", true); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.SetDisabled("kira", false) })
			return func() (string, error) { return h, nil }
		}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			b := newNegotiatingBrowser(tt.token(t))
			login := b.MustGet(t, st.hub)
			if login.Status != http.StatusOK || !login.IsLoginPage() || !strings.HasPrefix(login.Message(), "Windows sign-in did not work") {
				t.Fatalf("%d %s %q, want the form with the Windows message", login.Status, login.URL, login.Message())
			}
			if want := "reason=" + tt.reason; !strings.Contains(st.logs.String(), want) {
				t.Errorf("the log lacks %s", want)
			}
			// Back at the entry: the form again, and no second challenge.
			again := b.MustGet(t, st.hub)
			if again.Status != http.StatusOK || !again.IsLoginPage() || b.challenges.Load() != 1 {
				t.Fatalf("the entry again: %d, %d challenges; want the form and still 1", again.Status, b.challenges.Load())
			}
		})
	}
}

// TestKerberosCurlSamba is the whole flow with MIT's kinit and curl
// --negotiate, as an administrator would try it: hub → qlikgate → hub.
func TestKerberosCurlSamba(t *testing.T) {
	s := ldap.NeedSamba(t)
	for _, tool := range []string{"kinit", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			ldaptest.SkipOrFail(t, &ldaptest.Unavailable{Reason: tool + " is not installed (apt-get install krb5-user curl)"})
		}
	}
	st := kerberosStack(t, s)
	dir := t.TempDir()
	env := append(os.Environ(), "KRB5_CONFIG="+s.Krb5Conf, "KRB5CCNAME=FILE:"+filepath.Join(dir, "cc"))
	kinit := exec.Command("kinit", "alice@"+s.KerberosRealm)
	kinit.Env, kinit.Stdin = env, strings.NewReader(s.Password("alice")+"\n")
	if out, err := kinit.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v: %s", err, out)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(st.url, "http://"))
	// --location-trusted: curl answers the challenge of a host it was
	// redirected to (the hub sends it to qlikgate).
	curl := exec.Command("curl", "-sS", "-L", "--location-trusted", "--negotiate", "-u", ":", "-c", filepath.Join(dir, "jar"),
		"--resolve", kerberosHost+":"+port+":127.0.0.1", "-w", "\n%{http_code} %{num_redirects}", st.hub)
	curl.Env = env
	var out, stderr bytes.Buffer
	curl.Stdout, curl.Stderr = &out, &stderr
	if err := curl.Run(); err != nil {
		t.Fatalf("curl: %v: %s", err, stderr.String())
	}
	if !strings.Contains(out.String(), `<h1 id="user">CORP\alice</h1>`) || !strings.HasSuffix(out.String(), "\n200 2") {
		t.Fatalf("curl --negotiate: %s, want the hub as CORP\\alice after 2 redirects", out.String())
	}
	if !strings.Contains(st.logs.String(), "method=kerberos") {
		t.Errorf("no method=kerberos in the log")
	}
}

// TestKerberosPathPrefixSamba: behind a path prefix (public_url
// http://qlikgate.test:PORT/qlikgate/) the challenge, the hand-off, the
// sign-out's cookie and the Windows button work the same.
func TestKerberosPathPrefixSamba(t *testing.T) {
	s := ldap.NeedSamba(t)
	st := kerberosStack(t, s, func(c *web.Config) { c.Server.PublicURL += "qlikgate/" })
	if !strings.HasSuffix(st.url, "/qlikgate") {
		t.Fatalf("url %s", st.url)
	}
	alice, err := s.KerberosClient("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alice.Destroy)
	b := newNegotiatingBrowser(func() (string, error) { return ldaptest.NegotiateHeader(alice, s.SPN) })
	if hub := b.MustGet(t, st.hub); hub.HubUser() != `CORP\alice` || b.challenges.Load() != 1 {
		t.Fatalf("%d %s, %d challenges; want the hub as CORP\\alice after 1", hub.Status, hub.URL, b.challenges.Load())
	}
	b.MustLogout(t, st.url+"/logout")
	if c := b.Cookie(st.url+"/", "qlikgate_negotiate"); c == nil {
		t.Fatal("no qlikgate_negotiate cookie for the prefix after sign-out")
	}
	login := b.MustGet(t, st.hub)
	if login.Status != http.StatusOK || !strings.Contains(login.Body, `href="/qlikgate/negotiate?flow=`) || b.challenges.Load() != 1 {
		t.Fatalf("after sign-out: %d, %d challenges; want the form with the button under the prefix", login.Status, b.challenges.Load())
	}
	hub := b.MustGet(t, st.url+"/negotiate?flow="+login.MustLoginForm(t, "", "").Get("flow"))
	if hub.HubUser() != `CORP\alice` {
		t.Fatalf("the Windows button: %d %s", hub.Status, hub.URL)
	}
}

// TestKerberosBehindProxySamba: qlikgate behind a reverse proxy (as nginx
// or IIS with ARR in front, passing Authorization through and the 401's
// WWW-Authenticate back), public_url the proxy's address and the proxy in
// trusted_proxies: the browser with a ticket reaches the hub after one
// challenge, and the audit line names the client address the proxy
// forwarded, not the proxy's.
func TestKerberosBehindProxySamba(t *testing.T) {
	s := ldap.NeedSamba(t)
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(front.Addr().String())
	st := kerberosStack(t, s, func(c *web.Config) {
		c.Server.PublicURL = "http://" + net.JoinHostPort(kerberosHost, port) + "/"
		c.Server.TrustedProxies = []string{"127.0.0.1/32"}
	})
	backend, err := url.Parse(st.backend)
	if err != nil {
		t.Fatal(err)
	}
	var proxied atomic.Int32
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backend)
		r.Out.Host = r.In.Host
		r.Out.Header.Set("X-Forwarded-For", "203.0.113.7") // the client as the front end saw it
		r.Out.Header.Set("X-Forwarded-Proto", "http")
		if r.In.Header.Get("Authorization") != "" {
			proxied.Add(1)
		}
	}}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(front) }()
	t.Cleanup(func() { _ = srv.Close() })

	alice, err := s.KerberosClient("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alice.Destroy)
	b := newNegotiatingBrowser(func() (string, error) { return ldaptest.NegotiateHeader(alice, s.SPN) })
	hub := b.MustGet(t, st.hub)
	if hub.HubUser() != `CORP\alice` || b.challenges.Load() != 1 {
		t.Fatalf("%d %s, %d challenges; want the hub as CORP\\alice after 1", hub.Status, hub.URL, b.challenges.Load())
	}
	if proxied.Load() != 1 {
		t.Errorf("%d requests with Authorization went through the proxy, want 1", proxied.Load())
	}
	var line string
	for _, l := range strings.Split(st.logs.String(), "\n") {
		if strings.Contains(l, "event=login_succeeded") && strings.Contains(l, "method=kerberos") {
			line = l
		}
	}
	if !strings.Contains(line, "remote_ip=203.0.113.7") {
		t.Errorf("login_succeeded should name the forwarded client address:\n%s", line)
	}
}
