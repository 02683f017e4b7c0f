package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// TestKerberosChromiumSamba is Windows sign-in in a real headless
// Chromium with the MIT ticket cache of kinit (Chromium's GSSAPI is the
// system's libgssapi_krb5) and qlikgate.test on the AuthServerAllowlist:
// from the Qlik hub to the hub with no form. A Chromium without a ticket
// sees the form at once, after one 401.
//
// Chromium must resolve qlikgate.test itself: with --host-resolver-rules
// it asks for a ticket for HTTP@127.0.0.1 (it canonicalises the name
// through the resolver). So it runs in a mount namespace of its own
// (unshare -m, root) where /etc/hosts has the name; the machine's file is
// not touched.
func TestKerberosChromiumSamba(t *testing.T) {
	s := ldap.NeedSamba(t)
	exe := chromium(t)
	for _, tool := range []string{"kinit", "unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			ldaptest.SkipOrFail(t, &ldaptest.Unavailable{Reason: tool + " is not installed"})
		}
	}
	st := kerberosStack(t, s)
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n127.0.0.1 "+kerberosHost+"\n::1 localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "chromium")
	script := fmt.Sprintf("#!/bin/sh\nexec unshare -m -- sh -c 'mount --bind \"$0\" /etc/hosts && exec \"$@\"' %q %q \"$@\"\n", hosts, exe)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cc := "FILE:" + filepath.Join(dir, "alice.cc")
	kinit := exec.Command("kinit", "alice@"+s.KerberosRealm)
	kinit.Env, kinit.Stdin = append(os.Environ(), "KRB5_CONFIG="+s.Krb5Conf, "KRB5CCNAME="+cc), strings.NewReader(s.Password("alice")+"\n")
	if out, err := kinit.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v: %s", err, out)
	}
	// Chromium's first Negotiate challenge after it starts always fails
	// (ERR_UNSUPPORTED_AUTH_SCHEME, before it loads GSSAPI): a challenge
	// from a server of its own, not on the allowlist, warms it up.
	warm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", "Negotiate")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("<p>warm-up</p>"))
	}))
	t.Cleanup(warm.Close)
	warmUp := warm.URL + "/"

	t.Run("ticket: the hub with no form", func(t *testing.T) {
		ctx := startKerberosChromium(t, wrapper, s.Krb5Conf, cc)
		mark := len(st.logs.String())
		// Chromium may call the 401 a failed load; what matters is that it saw it.
		_ = chromedp.Do(ctx, chromedp.Navigate(warmUp))
		if err := chromedp.Do(ctx, chromedp.Navigate(st.hub)); err != nil {
			t.Fatal(err)
		}
		user := waitText(t, ctx, `document.getElementById("user") ? document.getElementById("user").textContent : ""`)
		if user != `CORP\alice` {
			t.Fatalf("the hub shows %q, want CORP\\alice", user)
		}
		logs := st.logs.String()[mark:]
		if !strings.Contains(logs, "event=login_succeeded provider=corp user=alice") || !strings.Contains(logs, "method=kerberos") {
			t.Errorf("no Kerberos login_succeeded in the log")
		}
		if strings.Contains(logs, "event=login_failed") {
			t.Errorf("a login failed on the way")
		}
	})

	t.Run("no ticket: the form at once, one 401", func(t *testing.T) {
		ctx := startKerberosChromium(t, wrapper, s.Krb5Conf, "FILE:"+filepath.Join(dir, "none.cc"))
		// Chromium may call the 401 a failed load; what matters is that it saw it.
		_ = chromedp.Do(ctx, chromedp.Navigate(warmUp))
		mark := len(st.logs.String())
		start := time.Now()
		if err := chromedp.Do(ctx, chromedp.Navigate(st.hub)); err != nil {
			t.Fatal(err)
		}
		if got := waitText(t, ctx, `document.getElementById("username") ? "form" : ""`); got != "form" {
			t.Fatal("no form")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("the form took %v", d)
		}
		if n := strings.Count(st.logs.String()[mark:], "status=401"); n != 1 {
			t.Errorf("%d responses with 401, want 1:\n%s", n, st.logs.String()[mark:])
		}
	})
}

// chromium finds the browser binary (not Debian's wrapper script).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("QLIKGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	ldaptest.SkipOrFail(t, &ldaptest.Unavailable{Reason: "chromium is not installed (apt-get install chromium)"})
	return ""
}

// startKerberosChromium starts a headless Chromium with this ticket cache
// and qlikgate.test allowed to get the user's Kerberos credentials.
func startKerberosChromium(t *testing.T, exe, krb5Conf, ccache string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("auth-server-allowlist", kerberosHost),
		chromedp.Env("KRB5_CONFIG="+krb5Conf, "KRB5CCNAME="+ccache),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// waitText evaluates expr until it gives a non-empty string.
func waitText(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	for {
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr)); err == nil && v != "" {
			return v
		}
		select {
		case <-ctx.Done():
			loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
			body, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			t.Fatalf("at %s waiting for %s: %v\n%s", loc, expr, errors.Join(ctx.Err()), body)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
