package main

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/web/webtest"
)

var (
	totpSecretRe = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	formCSRFRe   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	formFlowRe   = regexp.MustCompile(`name="flow" value="([^"]*)"`)
	continueRe   = regexp.MustCompile(`id="continue" href="([^"]+)"`)
)

func oathtoolAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("QLIKGATE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("oathtool is not installed (apt-get install oathtool) and QLIKGATE_REQUIRE_INTEGRATION is set")
		}
		t.Skip("oathtool is not installed (apt-get install oathtool)")
	}
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func stepForm(t *testing.T, p webtest.Page, code string) url.Values {
	t.Helper()
	csrf, flow := formCSRFRe.FindStringSubmatch(p.Body), formFlowRe.FindStringSubmatch(p.Body)
	if csrf == nil || flow == nil {
		t.Fatalf("not a second-step page: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	return url.Values{"csrf": {csrf[1]}, "flow": {flow[1]}, "code": {code}}
}

// TestServeMFAAndHelpDeskReset runs `qlikgate serve` with mode: required
// and the default SQLite store: password → enrol → code → Qlik, then
// `qlikgate mfa list` and `qlikgate mfa reset` as the help desk would.
func TestServeMFAAndHelpDeskReset(t *testing.T) {
	site := newSimSite(t, "hr", "alicepw")
	cfgPath := filepath.Join(site.dir, "config.yaml")
	cfg := `
server: {listen: "` + site.addr + `", public_url: "` + site.publicURL + `"}
session: {secret: "` + strings.Repeat("k", 48) + `"}
mfa: {secret_file: mfa.secret}
log: {format: json}
providers:
  - id: local
    kind: static
    directory: CORP
    mfa: {mode: required, issuer_name: Analytics}
    static: {users: [{username: alice, password_hash: "` + site.hash + `"}]}
` + site.targets()
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site.dir, "mfa.secret"), []byte(strings.Repeat("m", 48)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, "serve", "-config", cfgPath)
	r.waitHealthy(t, site.publicURL)
	fi, err := os.Stat(filepath.Join(site.dir, "qlikgate-mfa.db"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the SQLite store next to the configuration: %v, %v", err, fi)
	}

	signIn := func(b *webtest.Browser, wantPath string) webtest.Page {
		t.Helper()
		login := b.MustGet(t, site.sim.HubURL())
		p := b.MustPostForm(t, site.publicURL+"login", login.MustLoginForm(t, "alice", "alicepw"))
		if p.URL.Path != wantPath {
			t.Fatalf("after the password: %d %s, want %s\n%s", p.Status, p.URL, wantPath, p.Body)
		}
		return p
	}
	b := webtest.NewBrowser()
	enrol := signIn(b, "/mfa/enrol")
	secret := totpSecretRe.FindStringSubmatch(enrol.Body)[1]
	rec := b.MustPostForm(t, site.publicURL+"mfa/enrol", stepForm(t, enrol, oathtoolAt(t, secret, time.Now())))
	cont := continueRe.FindStringSubmatch(rec.Body)
	if cont == nil {
		t.Fatalf("no recovery page: %d\n%s", rec.Status, rec.Body)
	}
	if hub := b.MustGet(t, strings.TrimSuffix(site.publicURL, "/")+strings.ReplaceAll(cont[1], "&amp;", "&")); hub.HubUser() != `CORP\alice` {
		t.Fatalf("after enrolment: %s\n%s", hub.URL, hub.Body)
	}
	// Next time a code; the next step's code is used, since this step's
	// was spent on the enrolment.
	b2 := webtest.NewBrowser()
	page := signIn(b2, "/mfa")
	if hub := b2.MustPostForm(t, site.publicURL+"mfa", stepForm(t, page, oathtoolAt(t, secret, time.Now().Add(30*time.Second)))); hub.HubUser() != `CORP\alice` {
		t.Fatalf("with a code: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}

	// The help desk.
	var out, errOut testlog.Buffer
	if code := run(t.Context(), []string{"mfa", "-config", cfgPath, "list"}, strings.NewReader(""), &out, &errOut); code != exitOK {
		t.Fatalf("mfa list: exit %d\n%s", code, errOut.String())
	}
	if !regexp.MustCompile(`(?m)^local\s+alice\s+enrolled\s+0\s+10\s`).MatchString(out.String()) {
		t.Fatalf("mfa list:\n%s", out.String())
	}
	out, errOut = testlog.Buffer{}, testlog.Buffer{}
	if code := run(t.Context(), []string{"mfa", "-config", cfgPath, "reset", "bob"}, strings.NewReader(""), &out, &errOut); code != exitFail || !strings.Contains(errOut.String(), "local/bob has no enrolment") {
		t.Fatalf("mfa reset of nobody: exit %d\n%s", code, errOut.String())
	}
	errOut = testlog.Buffer{}
	if code := run(t.Context(), []string{"mfa", "-config", cfgPath, "reset", "local/alice"}, strings.NewReader(""), &out, &errOut); code != exitOK {
		t.Fatalf("mfa reset: exit %d\n%s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), `"event":"mfa_reset"`) || !strings.Contains(errOut.String(), `"by":"helpdesk"`) {
		t.Errorf("the reset is not in the audit log:\n%s", errOut.String())
	}
	signIn(webtest.NewBrowser(), "/mfa/enrol")

	if code := r.stop(t); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	if logs := r.stderr.String(); strings.Contains(logs, secret) || !strings.Contains(logs, `"event":"mfa_verified"`) {
		t.Errorf("the log has the TOTP secret, or lacks mfa_verified:\n%s", logs)
	}
}
