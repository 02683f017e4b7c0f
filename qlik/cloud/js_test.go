package cloud

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// jsRun is what testdata/cloudjs_harness.js reports.
type jsRun struct {
	Calls []struct {
		URL, Method, Mode, Credentials string
		Headers                        map[string]string
		HasSignal                      bool
	}
	Replaced     *string
	Visible      []string
	Heading      string
	JWTLeftInDOM bool `json:"jwtLeftInDOM"`
	Errors       []string
}

// runScript runs static/cloud.js under node with a scripted fetch. Like
// the other integration tests it skips without node unless
// QLIKGATE_REQUIRE_INTEGRATION is set.
func runScript(t *testing.T, scenario string) jsRun {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("QLIKGATE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("node is required to test static/cloud.js")
		}
		t.Skip("node not installed")
	}
	script, _ := filepath.Abs("../../static/cloud.js")
	out, err := exec.Command(node, "testdata/cloudjs_harness.js", script, scenario).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var r jsRun
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("harness output %q: %v", out, err)
	}
	return r
}

func TestScriptHandOff(t *testing.T) {
	tests := []struct {
		scenario string
		calls    int
		visible  []string // besides the heading
		replaced string
	}{
		{"ok", 2, []string{"cloud-progress"}, "https://tenant.example/sense/app/1"},
		{"refused", 1, []string{"cloud-refused", "cloud-continue"}, ""},
		{"blocked", 2, []string{"cloud-blocked", "cloud-continue"}, ""},
		{"unreachable", 1, []string{"cloud-unreachable", "cloud-continue"}, ""},
		{"checkfails", 2, []string{"cloud-blocked", "cloud-continue"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			r := runScript(t, tt.scenario)
			if len(r.Calls) != tt.calls {
				t.Fatalf("%d fetch calls, want %d: %+v", len(r.Calls), tt.calls, r.Calls)
			}
			post := r.Calls[0]
			if post.URL != "https://tenant.example/login/jwt-session?qlik-web-integration-id=wi%2B1" || post.Method != "POST" ||
				post.Mode != "cors" || post.Credentials != "include" || !post.HasSignal ||
				post.Headers["Authorization"] != "Bearer HEADER.PAYLOAD.SIG" || post.Headers["Qlik-Web-Integration-ID"] != "wi+1" ||
				post.Headers["Content-Type"] != "application/json" {
				t.Errorf("jwt-session call %+v", post)
			}
			if len(r.Calls) > 1 {
				check := r.Calls[1]
				if check.URL != "https://tenant.example/api/v1/csrf-token?qlik-web-integration-id=wi%2B1" || check.Method != "GET" ||
					check.Credentials != "include" || check.Headers["Qlik-Web-Integration-ID"] != "wi+1" {
					t.Errorf("csrf-token call %+v", check)
				}
			}
			visible := slices.DeleteFunc(r.Visible, func(s string) bool { return s == "cloud-heading" })
			slices.Sort(visible)
			slices.Sort(tt.visible)
			if !slices.Equal(visible, tt.visible) {
				t.Errorf("visible %v, want %v", visible, tt.visible)
			}
			switch {
			case tt.replaced != "" && (r.Replaced == nil || *r.Replaced != tt.replaced):
				t.Errorf("navigated to %v, want %s", r.Replaced, tt.replaced)
			case tt.replaced == "" && r.Replaced != nil:
				t.Errorf("navigated to %s after a failure", *r.Replaced)
			case tt.replaced == "" && (r.Heading == "" || len(r.Errors) == 0):
				t.Errorf("failure without a heading or console error: %+v", r)
			}
			if r.JWTLeftInDOM {
				t.Error("the token stayed in the DOM")
			}
		})
	}
}
