package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// running is a qlikgate command running in the background.
type running struct {
	stdout, stderr *testlog.Buffer
	cancel         context.CancelFunc
	done           chan int
}

func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &testlog.Buffer{}, stderr: &testlog.Buffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { r.done <- run(ctx, args, strings.NewReader(""), r.stdout, r.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("command did not stop within 15 s of cancellation")
		}
	})
	return r
}

// stop cancels the command and returns its exit code.
func (r *running) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code // for the cleanup
		return code
	case <-time.After(15 * time.Second):
		t.Fatal("command did not stop within 15 s")
		return -1
	}
}

// waitHealthy waits until the server at publicURL answers /healthz.
func (r *running) waitHealthy(t *testing.T, publicURL string) {
	t.Helper()
	r.waitFor(t, "healthz", func() bool {
		resp, err := http.Get(publicURL + "healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitFor polls until cond is true or the command exits.
func (r *running) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		select {
		case code := <-r.done:
			r.done <- code
			t.Fatalf("command exited with %d while waiting for %s\nstdout:\n%s\nstderr:\n%s", code, what, r.stdout, r.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("timed out waiting for %s\nstdout:\n%s\nstderr:\n%s", what, r.stdout, r.stderr)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeBadConfigExitsWithoutListening(t *testing.T) {
	addr := freePort(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	bad := strings.Replace(validYAML, `"127.0.0.1:0"`, `"`+addr+`"`, 1) // client.pem etc. do not exist here
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "-config", path}, nil, &stdout, &stderr)
	if code != exitConfig {
		t.Fatalf("exit code %d, want %d", code, exitConfig)
	}
	for _, w := range []string{"3 problems", "targets[0].sense.client_cert_file: open ", "client.pem: no such file or directory"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr does not contain %q:\n%s", w, &stderr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is taken after a refused start: %v", err)
	}
	ln.Close()

	code = run(context.Background(), []string{"serve", "-config", filepath.Join(t.TempDir(), "missing.yaml")}, nil, &stdout, &stderr)
	if code != exitConfig || !strings.Contains(stderr.String(), "missing.yaml: no such file") {
		t.Fatalf("missing config: exit %d\n%s", code, &stderr)
	}
}

func TestServeEndToEnd(t *testing.T) {
	site := newSimSite(t, "hr", "alicepw")
	sim, dir, publicURL := site.sim, site.dir, site.publicURL
	cfg := fmt.Sprintf(`
server: {listen: %q, public_url: %q}
session: {secret_file: secret.txt}
log: {format: json, level: debug}
providers:
  - {id: local, kind: static, directory: CORP, static: {users: [{username: alice, password_hash: %q, groups: [Sales]}]}}
`, site.addr, publicURL, site.hash) + site.targets()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(strings.Repeat("k", 48)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := start(t, "serve", "-config", filepath.Join(dir, "config.yaml"))
	r.waitHealthy(t, publicURL)
	// Readiness comes from a background run of the same checks as
	// `qlikgate check`: the QPS answers, so the instance becomes ready.
	r.waitFor(t, "readyz", func() bool {
		resp, err := http.Get(publicURL + "readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	b := webtest.NewBrowser()
	login := b.MustGet(t, sim.HubURL())
	hub := b.MustPostForm(t, publicURL+"login", login.MustLoginForm(t, "alice", "alicepw"))
	if hub.HubUser() != `CORP\alice` || !strings.Contains(hub.Body, "Group=Sales") {
		t.Fatalf("full loop through `serve` failed: %d %s\n%s", hub.Status, hub.URL, hub.Body)
	}
	if m := b.MustGet(t, publicURL+"metrics"); !strings.Contains(m.Body, `qlikgate_handoffs_total{kind="sense-ticket",result="success",target="sense"} 1`) {
		t.Errorf("/metrics lacks the hand-off:\n%.2000s", m.Body)
	}
	if code := r.stop(t); code != exitOK {
		t.Fatalf("exit code %d after Ctrl-C", code)
	}
	logs := r.stderr.String()
	for _, w := range []string{`"event":"start"`, `"event":"login_succeeded"`, `"event":"handoff"`, `"event":"stop"`} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %s", w)
		}
	}
	if strings.Contains(logs, "alicepw") || strings.Contains(logs, hub.URL.Query().Get("qlikTicket")) {
		t.Error("a password or ticket reached the log")
	}
}

func TestDemo(t *testing.T) {
	r := start(t, append([]string{"demo"}, allFreePorts...)...)
	hubRe := regexp.MustCompile(`Simulated Qlik Sense hub:\s+(\S+)`)
	// The banner is written in several pieces: wait for its last line.
	r.waitFor(t, "the banner", func() bool { return strings.Contains(r.stdout.String(), "Ctrl-C") })
	hubURL := hubRe.FindStringSubmatch(r.stdout.String())[1]
	if !strings.Contains(hubURL, "hub") {
		t.Fatalf("hub URL %q", hubURL)
	}
	for _, w := range []string{"alice", "bob", `CORP\alice`, "Ctrl-C"} {
		if !strings.Contains(r.stdout.String(), w) {
			t.Errorf("banner lacks %q:\n%s", w, r.stdout)
		}
	}
	tests := []struct{ user, pw, want string }{
		{"alice", "alice", `CORP\alice`},
		{"bob", "bob", `CORP\bob`},
		{"alice", "bob", ""},
	}
	for _, tt := range tests {
		b := webtest.NewBrowser()
		login := b.MustGet(t, hubURL)
		p := b.MustPostForm(t, login.URL.Scheme+"://"+login.URL.Host+"/login", login.MustLoginForm(t, tt.user, tt.pw))
		if p.HubUser() != tt.want {
			t.Errorf("%s/%s: hub says %q, want %q (%d)", tt.user, tt.pw, p.HubUser(), tt.want, p.Status)
		}
		if tt.user == "alice" && tt.want != "" && (!strings.Contains(p.Body, "Group=Sales") || !strings.Contains(p.Body, "Group=EU")) {
			t.Errorf("alice's groups are not on the hub:\n%s", p.Body)
		}
	}
	if code := r.stop(t); code != exitOK {
		t.Fatalf("demo exit code %d", code)
	}
}

func TestDemoFallsBackToFreePorts(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	r := start(t, "demo", "-listen", addr, "-hub", addr, "-qps", addr)
	r.waitFor(t, "the banner", func() bool { return strings.Contains(r.stdout.String(), "qlikgate login page:") })
	if strings.Contains(r.stdout.String(), "http://"+addr+"/\n") {
		t.Fatalf("demo claims the taken port:\n%s", r.stdout)
	}
}

func TestHashPassword(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"hash-password", "-memory", "64", "-time", "1"}, strings.NewReader("s3cret pass\n"), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	h := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	p, err := static.Open(context.Background(), providers.Common{ID: "local"}, &static.Config{Users: []static.User{{Username: "u", PasswordHash: h}}}, providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Login(context.Background(), "u", "s3cret pass"); err != nil {
		t.Fatalf("the printed hash does not verify its password: %v", err)
	}
	if _, err := p.Login(context.Background(), "u", "s3cret pass\n"); err == nil {
		t.Fatal("the newline became part of the password")
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"hash-password"}, strings.NewReader(""), &stdout, &stderr); code != exitFail || stdout.Len() != 0 {
		t.Fatalf("empty stdin: exit %d, stdout %q", code, &stdout)
	}
	if code := run(context.Background(), []string{"hash-password", "-memory", "1"}, strings.NewReader("x\n"), &stdout, &stderr); code != exitConfig {
		t.Fatalf("bad -memory: exit %d", code)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{}, exitConfig, "", "Commands:"},
		{[]string{"nope"}, exitConfig, "", `unknown command "nope"`},
		{[]string{"help"}, exitOK, "serve -config FILE", ""},
		{[]string{"version"}, exitOK, "qlikgate dev (commit unknown, built unknown)", ""},
		{[]string{"serve", "extra"}, exitConfig, "", `unexpected argument "extra"`},
		{[]string{"serve", "-nope"}, exitConfig, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.inStdout) || !strings.Contains(stderr.String(), tt.inStderr) {
			t.Errorf("qlikgate %v: exit %d\nstdout: %s\nstderr: %s", tt.args, code, &stdout, &stderr)
		}
	}
}
