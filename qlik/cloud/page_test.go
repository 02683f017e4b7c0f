package cloud

import (
	"bytes"
	"context"
	"html/template"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"github.com/qlikgate/qlikgate/locales"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/templates"
)

// pageView mirrors the fields of web's view that layout.html and
// cloud.html use, with the Data field the web layer adds for hand-off
// pages, and T, which gives the English texts of locales/en.yaml.
type pageView struct {
	Lang string
	Base string
	UI   struct {
		Title, FooterText, HelpURL, HelpText, Version string
		HasLogo, HasCustomCSS                         bool
	}
	Data map[string]any
	loc  *i18n.Localizer
}

// T renders a message id in English, with name/value pairs as data.
func (v pageView) T(id string, pairs ...any) (string, error) {
	data := map[string]any{}
	for i := 0; i+1 < len(pairs); i += 2 {
		data[pairs[i].(string)] = pairs[i+1]
	}
	return v.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
}

func renderPage(t *testing.T, data map[string]any) string {
	t.Helper()
	set, err := template.ParseFS(templates.FS, "layout.html", PageTemplate+".html")
	if err != nil {
		t.Fatalf("parse templates: %v", err)
	}
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	if _, err := bundle.LoadMessageFileFS(locales.FS, "en.yaml"); err != nil {
		t.Fatal(err)
	}
	v := pageView{Lang: "en", Base: "/auth/", Data: data, loc: i18n.NewLocalizer(bundle, "en")}
	v.UI.Title = "Analytics"
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout", v); err != nil {
		t.Fatalf("render: %v", err)
	}
	return buf.String()
}

func TestPageTemplate(t *testing.T) {
	tg := openTarget(t, testConfig(t, "https://acme.eu.qlikcloud.com", ES256), time.Now())
	h, err := tg.Login(context.Background(), testUser, qlik.Entry{ReturnTo: "https://acme.eu.qlikcloud.com/hub?a=1&b=\"2\""})
	if err != nil {
		t.Fatal(err)
	}
	data := pageData(t, h)
	out := renderPage(t, data)
	for _, want := range []string{
		"<title>Signing in to Qlik Cloud · Analytics</title>",
		"Signing you in to Qlik Cloud…",
		`data-jwt="` + str(t, data, DataJWT) + `"`,
		`data-session-url="https://acme.eu.qlikcloud.com/login/jwt-session?qlik-web-integration-id=wi-7Hq2"`,
		`data-check-url="https://acme.eu.qlikcloud.com/api/v1/csrf-token?qlik-web-integration-id=wi-7Hq2"`,
		`data-web-integration-id="wi-7Hq2"`,
		`data-return-to="https://acme.eu.qlikcloud.com/hub?a=1&amp;b=&#34;2&#34;"`,
		`<script src="/auth/static/cloud.js" defer></script>`,
		"<noscript>",
		`<div id="cloud-blocked" hidden>`,
		`<div id="cloud-refused" hidden>`,
		`<div id="cloud-unreachable" hidden>`,
		`<p id="cloud-continue" hidden><a class="button" href="https://acme.eu.qlikcloud.com/hub?a=1&amp;b=%222%22">Continue to Qlik Cloud</a></p>`,
		"custom domain",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// The CSP allows neither inline script nor inline style.
	if n := strings.Count(out, "<script"); n != 1 || regexp.MustCompile(`<script>|\son[a-z]+=|style=|javascript:`).MatchString(out) {
		t.Errorf("page has inline script or style:\n%s", out)
	}
}

// The script reads exactly the data attributes the template writes, and
// un-hides exactly the message elements the template has.
func TestScriptMatchesTemplate(t *testing.T) {
	js, err := os.ReadFile("../../static/cloud.js")
	if err != nil {
		t.Fatalf("read static/cloud.js: %v", err)
	}
	page, err := os.ReadFile("../../templates/cloud.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`data-([a-z-]+)=`).FindAllStringSubmatch(string(page), -1) {
		camel := regexp.MustCompile(`-([a-z])`).ReplaceAllStringFunc(m[1], func(s string) string { return strings.ToUpper(s[1:]) })
		if m[1] == "jwt" {
			camel = "jwt"
		}
		if !strings.Contains(string(js), "dataset."+camel) {
			t.Errorf("cloud.js never reads data-%s (dataset.%s)", m[1], camel)
		}
	}
	for _, m := range regexp.MustCompile(`(?:fail|byId)\('([a-z-]+)'\)`).FindAllStringSubmatch(string(js), -1) {
		if !strings.Contains(string(page), `id="`+m[1]+`"`) {
			t.Errorf("cloud.js uses #%s, which cloud.html lacks", m[1])
		}
	}
}
