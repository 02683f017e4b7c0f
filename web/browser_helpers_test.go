package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The browser tests drive a real headless Chromium with chromedp against
// the real server and qliksim. TestBrowser starts one browser for all of
// them (subtests), and each subtest gets its own tab in its own browser
// context, so no cookies leak between them. They skip when Chromium (or,
// for the accessibility check, axe-core) is missing, unless
// QLIKGATE_REQUIRE_INTEGRATION is set.
//
// The shared browser belongs to the parent test rather than to TestMain,
// so that it is stopped by t.Cleanup and this file needs no TestMain of
// its own (the package has one, for slapd).
//
// Environment:
//
//	QLIKGATE_CHROMIUM     the browser binary (default: /usr/lib/chromium/chromium, /usr/bin/chromium…)
//	QLIKGATE_AXE_JS       axe.min.js of axe-core (.ci/run fetches it from the npm registry)
//	QLIKGATE_TEST_OUTPUT  where screenshots go (default: test-output/ at the repository root)
//	QLIKGATE_UPDATE_DOCS  set to 1 to rewrite docs/login.png from the default login page

// chromeBrowser is a running Chromium.
type chromeBrowser struct {
	exe string
	ctx context.Context // a chromedp context whose browser is running
}

// browserTimeout bounds one browser subtest.
const browserTimeout = 45 * time.Second

func integrationRequired() bool { return os.Getenv("QLIKGATE_REQUIRE_INTEGRATION") != "" }

// chromiumPath finds the browser; /usr/lib/chromium/chromium skips
// Debian's wrapper script.
func chromiumPath() (string, bool) {
	if p := os.Getenv("QLIKGATE_CHROMIUM"); p != "" {
		return p, true
	}
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// allocatorOptions are the flags that work on these machines (headless,
// as root, no GPU), plus extra ones.
func allocatorOptions(exe string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1000, 700),
	}
	return append(opts, extra...)
}

// startChromium starts a browser for t and its subtests, stopped when t
// ends. extra adds flags. The browser manages its own profile directory.
func startChromium(t *testing.T, extra ...chromedp.ExecAllocatorOption) *chromeBrowser {
	t.Helper()
	exe, ok := chromiumPath()
	if !ok {
		skipOrFail(t, errors.New("chromium is not installed (apt-get install chromium fonts-liberation, or set QLIKGATE_CHROMIUM)"))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions(exe, extra...)...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("start %s: %v", exe, err)
	}
	return &chromeBrowser{exe: exe, ctx: bctx}
}

// skipOrFail skips the test for a missing dependency, or fails it when
// integration tests are required.
func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if integrationRequired() {
		t.Fatal(err)
	}
	t.Skip(err)
}

// tab opens a tab in a fresh browser context (own cookies) at the given
// viewport size, closed when t ends.
func (b *chromeBrowser) tab(t *testing.T, width, height int64) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// chromeDo runs browser steps and fails the test with the page's URL and a
// screenshot when one fails.
func chromeDo(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		chromeShot(t, ctx, "failed")
		t.Fatalf("browser at %s: %v", loc, err)
	}
}

// chromeRun runs one browser action that returns a value, failing the test on
// an error.
func chromeRun[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser at %s: %v", loc, err)
	}
	return v
}

// chromeWait evaluates a JavaScript expression until it gives a non-empty
// string, across navigations (which make a single evaluation fail), and
// returns it.
func chromeWait(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	for {
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr)); err == nil && v != "" {
			return v
		}
		select {
		case <-ctx.Done():
			loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
			t.Fatalf("browser at %s: waiting for %s: %v", loc, expr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// chromeText is the visible text of the element with this id.
func chromeText(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	return strings.TrimSpace(chromeRun(t, ctx, chromedp.Text(chromedp.ID(id))))
}

// acceptLanguage makes the tab ask for these languages, as a browser set
// to them would.
func acceptLanguage(lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
		return err
	})
}

// screenshotDir is where screenshots go: test-output/ at the repository root.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("QLIKGATE_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", "test-output")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromeShot saves the whole page as test-output/<test>-<name>.png and
// returns the PNG.
func chromeShot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return nil
	}
	file := strings.ReplaceAll(t.Name(), "/", "-") + "-" + name + ".png"
	if err := os.WriteFile(filepath.Join(screenshotDir(t), file), png, 0o644); err != nil {
		t.Errorf("save screenshot: %v", err)
	}
	return png
}

// axeViolation is what the test keeps of an axe-core result.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// chromeAxe reads axe-core, or skips the test.
func chromeAxe(t *testing.T) string {
	t.Helper()
	path := os.Getenv("QLIKGATE_AXE_JS")
	if path == "" {
		skipOrFail(t, fmt.Errorf("QLIKGATE_AXE_JS is not set (npm pack axe-core@4, then point it at package/axe.min.js)"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		skipOrFail(t, fmt.Errorf("axe-core: %w", err))
	}
	return string(b)
}

// chromeAxeRun injects axe-core into the current page and returns its
// WCAG A/AA and best-practice violations. DevTools evaluation is not
// subject to the page's CSP, so the strict policy stays on while axe runs.
func chromeAxeRun(t *testing.T, ctx context.Context, axe string) []axeViolation {
	t.Helper()
	chromeDo(t, ctx, chromedp.Evaluate[chromedp.Void](axe))
	raw := chromeRun(t, ctx, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations']
	}).then(r => JSON.stringify(r.violations.map(v => ({
		id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))
	}))))`, chromedp.EvalAwaitPromise))
	var violations []axeViolation
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		t.Fatalf("axe result %q: %v", raw, err)
	}
	return violations
}

// chromeCheckAccessibility fails the test on serious or critical axe-core
// violations of the current page; lesser ones are logged.
func chromeCheckAccessibility(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	for _, v := range chromeAxeRun(t, ctx, axe) {
		line := fmt.Sprintf("%s: axe %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(line)
		} else {
			t.Log(line)
		}
	}
}
