package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestUIConfigErrorsNameTheKey: every problem of the ui block is
// reported at start-up with its key, the value and what would work.
func TestUIConfigErrorsNameTheKey(t *testing.T) {
	good := writeFiles(t, map[string]string{
		"custom.css": "body { color: #000; }",
		"login.html": `{{define "title"}}Hi{{end}}{{define "content"}}<p>{{.T "login.heading"}}</p>{{end}}`,
	})
	bad := writeFiles(t, map[string]string{
		"login.html":     `{{define "title"}}x{{end}}{{define "content"}}{{if}}{{end}}`,
		"error.html":     `{{define "title"}}x{{end}}{{define "content"}}{{.NoSuchField}}{{end}}`,
		"signedout.html": `{{define "title"}}x{{end}}{{define "content"}}{{.T "no.such.message"}}{{end}}`,
		"Login.html":     `typo`,
		"notes.txt":      `ignored: not a template`,
		"binary.css":     "\xff\xfe",
	})
	tests := []struct {
		name string
		mod  func(*UIConfig)
		want []string // substrings, each on its own error line
	}{
		{"defaults", func(*UIConfig) {}, nil},
		{"everything set", func(c *UIConfig) {
			c.CustomCSSFile, c.TemplatesDir = filepath.Join(good, "custom.css"), good
			c.HelpURL, c.HelpText, c.FooterText, c.DefaultLanguage = "https://help.example.com/qlik", "IT help", "© Example", "sv"
		}, nil},
		{"mailto help", func(c *UIConfig) { c.HelpURL = "mailto:it@example.com" }, nil},
		{"missing css", func(c *UIConfig) { c.CustomCSSFile = "/nope/custom.css" },
			[]string{"custom_css_file: open /nope/custom.css: no such file or directory"}},
		{"css not text", func(c *UIConfig) { c.CustomCSSFile = filepath.Join(bad, "binary.css") },
			[]string{"custom_css_file: " + filepath.Join(bad, "binary.css") + " is not a UTF-8 text file"}},
		{"missing logo", func(c *UIConfig) { c.LogoFile = "/nope/logo.png" }, []string{"logo_file: open /nope/logo.png"}},
		{"help", func(c *UIConfig) { c.HelpURL, c.HelpText = "javascript:alert(1)", "x" },
			[]string{`help_url: "javascript:alert(1)" must be an absolute https://, http:// or mailto: URL`}},
		{"help text alone", func(c *UIConfig) { c.HelpText = "Help" }, []string{"help_text: set help_url too"}},
		{"language", func(c *UIConfig) { c.DefaultLanguage = "it" },
			[]string{`default_language: "it" is not available: use one of en, de, es, fr, sv`}},
		{"colour", func(c *UIConfig) { c.PrimaryColor = "teal" }, []string{`primary_color: "teal" must be a hex colour like #006580`}},
		{"missing templates dir", func(c *UIConfig) { c.TemplatesDir = "/nope/templates" },
			[]string{"templates_dir: open /nope/templates: no such file or directory"}},
		{"broken overrides", func(c *UIConfig) { c.TemplatesDir = bad }, []string{
			"templates_dir: " + filepath.Join(bad, "Login.html") + ": no embedded template has this name (they are accesstoken.html, cloud.html, denied.html, error.html, layout.html, login.html, logout.html, mfa.html, mfa_enrol.html, mfa_recovery.html, password.html, security.html, signedout.html, unavailable.html)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig().UI
			tt.mod(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestBrokenOverridesNameTheirFile: a template that does not parse, or
// that fails when rendered (unknown field, unknown message), is a start-up
// error naming its file.
func TestBrokenOverridesNameTheirFile(t *testing.T) {
	for name, text := range map[string]string{
		"login.html":     `{{define "title"}}x{{end}}{{define "content"}}{{if}}{{end}}`,
		"error.html":     `{{define "title"}}x{{end}}{{define "content"}}{{.NoSuchField}}{{end}}`,
		"signedout.html": `{{define "title"}}x{{end}}{{define "content"}}{{.T "no.such.message"}}{{end}}`,
		"cloud.html":     `{{define "content"}}no title{{end}}`,
		"layout.html":    `{{define "layout"}}{{template "nope" .}}{{end}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{name: text})
			err := checkTemplates(dir)
			if err == nil || !strings.HasPrefix(err.Error(), "templates_dir: "+filepath.Join(dir, name)+": ") {
				t.Fatalf("got %v, want an error naming %s", err, filepath.Join(dir, name))
			}
			c := DefaultConfig()
			c.UI.TemplatesDir = dir
			if _, err := loadPages(c.UI); err == nil || !strings.Contains(keyed("ui.", err).Error(), "ui.templates_dir: "+filepath.Join(dir, name)) {
				t.Errorf("loadPages: %v", err)
			}
		})
	}
}

func TestFrameAncestorsValidation(t *testing.T) {
	c := DefaultConfig().Server
	c.PublicURL = "https://auth.example.com/"
	c.FrameAncestors = []string{"https://portal.example.com", "https://*.example.com", "http://127.0.0.1:8080"}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid origins refused: %v", err)
	}
	for _, bad := range []string{"portal.example.com", "https://portal.example.com/", "https://a.example.com; script-src *", "'self'", "*", "https://x.example.com/path"} {
		c.FrameAncestors = []string{bad}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "frame_ancestors[0]: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
