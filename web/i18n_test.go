package web

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"gopkg.in/yaml.v3"

	"github.com/qlikgate/qlikgate/locales"
	"github.com/qlikgate/qlikgate/providers"
)

var placeholder = regexp.MustCompile(`\{\{\s*\.([A-Za-z]+)\s*\}\}`)

// forms lists a message's texts by plural form.
func forms(m *i18n.Message) map[string]string {
	out := map[string]string{}
	for name, s := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if s != "" {
			out[name] = s
		}
	}
	return out
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func parseCatalog(t *testing.T, lang string) map[string]*i18n.Message {
	t.Helper()
	b, err := fs.ReadFile(locales.FS, lang+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := i18n.ParseMessageFileBytes(b, lang+".yaml", map[string]i18n.UnmarshalFunc{"yaml": yaml.Unmarshal})
	if err != nil {
		t.Fatalf("%s.yaml: %v", lang, err)
	}
	out := map[string]*i18n.Message{}
	for _, m := range f.Messages {
		out[m.ID] = m
	}
	return out
}

// TestEveryKeyInEveryLanguage: each catalog has exactly the reference's
// message ids, the same plural forms (one and other for these languages)
// and the same placeholders, and no text is left empty or untranslated
// by accident.
func TestEveryKeyInEveryLanguage(t *testing.T) {
	langs := languages()
	if want := []string{"en", "de", "es", "fr", "sv"}; !slices.Equal(langs, want) {
		t.Fatalf("languages = %v, want %v", langs, want)
	}
	ref := parseCatalog(t, referenceLanguage)
	if len(ref) < 50 {
		t.Fatalf("the reference catalog has only %d messages", len(ref))
	}
	for _, lang := range langs[1:] {
		t.Run(lang, func(t *testing.T) {
			got := parseCatalog(t, lang)
			for _, id := range slices.Sorted(maps.Keys(ref)) {
				m, ok := got[id]
				if !ok {
					t.Errorf("%s is missing", id)
					continue
				}
				rf, gf := forms(ref[id]), forms(m)
				if !slices.Equal(slices.Sorted(maps.Keys(rf)), slices.Sorted(maps.Keys(gf))) {
					t.Errorf("%s: plural forms %v, want %v", id, slices.Sorted(maps.Keys(gf)), slices.Sorted(maps.Keys(rf)))
				}
				for form, text := range gf {
					if strings.TrimSpace(text) == "" {
						t.Errorf("%s (%s) is empty", id, form)
					}
					if w, g := placeholders(rf[form]), placeholders(text); !slices.Equal(w, g) {
						t.Errorf("%s (%s): placeholders %v, want %v", id, form, g, w)
					}
				}
			}
			for id := range got {
				if _, ok := ref[id]; !ok {
					t.Errorf("%s is not in %s.yaml", id, referenceLanguage)
				}
			}
		})
	}
}

func TestLanguageChoice(t *testing.T) {
	tests := []struct {
		deflt, header, want string
	}{
		{"", "", "en"},
		{"", "de-CH,de;q=0.9,en;q=0.8", "de"},
		{"", "fr-CA", "fr"},
		{"", "es-419,es;q=0.9", "es"},
		{"", "sv-SE", "sv"},
		{"", "en-GB", "en"},
		{"", "ja, de;q=0.5", "de"},       // the first language qlikgate speaks
		{"", "de;q=0.1, fr;q=0.9", "fr"}, // by quality, not order
		{"", "nb", "en"},                 // a neighbour is not a match
		{"", "*", "en"},
		{"", "de;;q=x,,", "en"}, // malformed: no preference
		{"de", "", "de"},
		{"de", "ja", "de"},
		{"sv", "es", "es"},
	}
	for _, tt := range tests {
		c, err := loadCatalog(tt.deflt)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.choose(tt.header); got != tt.want {
			t.Errorf("default %q, Accept-Language %q: %s, want %s", tt.deflt, tt.header, got, tt.want)
		}
	}
	if _, err := loadCatalog("xx"); err == nil || !strings.Contains(err.Error(), `default_language: "xx" is not available: use one of en, de, es, fr, sv`) {
		t.Errorf("unknown default language: %v", err)
	}
}

// TestEveryPageInEveryLanguage renders each embedded page with full sample
// data in each language: no message id, missing value or English text of
// the layout leaks into another language.
func TestEveryPageInEveryLanguage(t *testing.T) {
	src, err := templateSources("")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := parsePages(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"login", "error", "unavailable", "signedout", "cloud", "denied"} {
		if sets[want] == nil {
			t.Errorf("no %s page", want)
		}
	}
	cat, err := loadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	ids := slices.Collect(maps.Keys(parseCatalog(t, referenceLanguage)))
	for _, lang := range languages() {
		for name, set := range sets {
			v := sampleViews(name)[0]
			v.Lang, v.Base, v.tr = lang, "/", cat.translator(lang)
			if err := v.translate(); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := set.ExecuteTemplate(&buf, "layout", v); err != nil {
				t.Fatalf("%s in %s: %v", name, lang, err)
			}
			out := buf.String()
			if !strings.Contains(out, `<html lang="`+lang+`">`) {
				t.Errorf("%s in %s: no <html lang>", name, lang)
			}
			for _, id := range ids {
				if strings.Contains(out, id) {
					t.Errorf("%s in %s shows the message id %s", name, lang, id)
				}
			}
			if strings.Contains(out, "<no value>") {
				t.Errorf("%s in %s shows <no value>", name, lang)
			}
			if lang != "en" && name == "login" && strings.Contains(out, ">Sign in<") {
				t.Errorf("login in %s is English", lang)
			}
		}
	}
}

func TestFailureMessages(t *testing.T) {
	cat, err := loadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	de := cat.translator("de")
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("boom"), "Benutzername oder Passwort ist falsch."},
		{&providers.Failure{Reason: "wrong_password", Err: providers.ErrBadCredentials}, "Benutzername oder Passwort ist falsch."},
		{&providers.Failure{Reason: "access_denied", UserText: "Sign-in was cancelled…"}, "Die Anmeldung wurde vom Identitätsanbieter abgebrochen oder abgelehnt."},
		{&providers.Failure{Reason: "group_not_allowed", UserText: "…"}, "Ihr Konto darf diesen Dienst nicht verwenden."},
		{&providers.Failure{Reason: "account_disabled", UserText: "…"}, "Mit diesem Konto ist eine Anmeldung derzeit nicht möglich. Bitte wenden Sie sich an Ihren IT-Helpdesk."},
		{&providers.Failure{Reason: "password_expired", UserText: "Your password has expired or must be changed. Change it, then sign in again."},
			"Ihr Passwort ist abgelaufen oder muss geändert werden. Ändern Sie es und melden Sie sich dann erneut an."},
		{&providers.Failure{Reason: "password_must_change", UserText: "Your password has expired or must be changed. Change it at https://pw.corp.example/change?u=1, then sign in again.", ChangeURL: "https://pw.corp.example/change?u=1"},
			"Ihr Passwort ist abgelaufen oder muss geändert werden. Ändern Sie es unter https://pw.corp.example/change?u=1 und melden Sie sich dann erneut an."},
		// A reason qlikgate does not know: the provider's own text.
		{&providers.Failure{Reason: "new_reason", UserText: "Something new."}, "Something new."},
	}
	for _, tt := range tests {
		got, err := de.text(failureMessage(tt.err, msgBadCredentials))
		if err != nil || got != tt.want {
			t.Errorf("%v: %q, %v; want %q", tt.err, got, err, tt.want)
		}
	}
}

// TestProviderTextsInCatalog: every reason the catalog translates points
// at a message that exists (with its "_at" variant for a change link), so
// a renamed message id cannot silently drop a provider's translation.
func TestProviderTextsInCatalog(t *testing.T) {
	ref := parseCatalog(t, referenceLanguage)
	for reason, id := range providerTexts {
		if _, ok := ref[id]; !ok {
			t.Errorf("providerTexts[%s] = %s, which is not in %s.yaml", reason, id, referenceLanguage)
		}
	}
	if _, ok := ref["provider.password_expired_at"]; !ok {
		t.Errorf("provider.password_expired_at is not in %s.yaml", referenceLanguage)
	}
}
