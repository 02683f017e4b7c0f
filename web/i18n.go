package web

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"github.com/qlikgate/qlikgate/locales"
)

// referenceLanguage is the catalog every other one is checked against, and
// the one a message falls back to if a catalog ever lacks it.
const referenceLanguage = "en"

// languages lists the languages qlikgate speaks: one per catalog file in
// package locales, reference language first, the others sorted.
func languages() []string {
	files, _ := fs.Glob(locales.FS, "*.yaml") // the pattern is valid
	out := []string{referenceLanguage}
	for _, f := range files {
		if l := strings.TrimSuffix(path.Base(f), ".yaml"); l != referenceLanguage {
			out = append(out, l)
		}
	}
	slices.Sort(out[1:])
	return out
}

// catalog is the loaded message catalogs and the rules for choosing one.
// It is read-only after loadCatalog, so requests share it freely.
type catalog struct {
	// langs are the available languages, the configured default first:
	// the matcher falls back to its first entry.
	langs   []string
	matcher language.Matcher
	locs    map[string]*i18n.Localizer
}

// loadCatalog parses the embedded catalogs. defaultLang is used when the
// browser asks for nothing qlikgate speaks ("" means English).
func loadCatalog(defaultLang string) (*catalog, error) {
	if defaultLang == "" {
		defaultLang = referenceLanguage
	}
	all := languages()
	if !slices.Contains(all, defaultLang) {
		return nil, fmt.Errorf("default_language: %q is not available: use one of %s", defaultLang, strings.Join(all, ", "))
	}
	bundle := i18n.NewBundle(language.MustParse(referenceLanguage))
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	c := &catalog{locs: map[string]*i18n.Localizer{}}
	c.langs = append([]string{defaultLang}, slices.DeleteFunc(all, func(l string) bool { return l == defaultLang })...)
	tags := make([]language.Tag, len(c.langs))
	for i, l := range c.langs {
		if _, err := bundle.LoadMessageFileFS(locales.FS, l+".yaml"); err != nil {
			return nil, fmt.Errorf("web: message catalog %s.yaml: %w", l, err)
		}
		tags[i] = language.MustParse(l)
		c.locs[l] = i18n.NewLocalizer(bundle, l)
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// choose picks the language for an Accept-Language header: the browser's
// most preferred language that qlikgate speaks (de-CH finds de), else the
// default. A malformed header counts as no preference.
func (c *catalog) choose(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return c.langs[0]
	}
	_, i, conf := c.matcher.Match(tags...)
	// Below High the matcher offers a neighbour (Swedish to a Norwegian),
	// which reads worse than the language the administrator chose.
	if conf < language.High {
		return c.langs[0]
	}
	return c.langs[i]
}

// translator renders message ids in one language.
type translator struct {
	lang string
	loc  *i18n.Localizer
}

func (c *catalog) translator(lang string) translator {
	return translator{lang: lang, loc: c.locs[lang]}
}

// text renders m. An unknown id is an error rather than a raw id on the
// page: the template dry run at start-up and the tests catch it.
func (t translator) text(m msg) (string, error) {
	if m.id == "" {
		return m.raw, nil
	}
	if t.loc == nil {
		return "", fmt.Errorf("web: no catalog for language %q", t.lang)
	}
	lc := &i18n.LocalizeConfig{MessageID: m.id, TemplateData: m.data}
	if m.count != nil {
		lc.PluralCount = m.count
		data := map[string]any{"Count": m.count}
		for k, v := range m.data {
			data[k] = v
		}
		lc.TemplateData = data
	}
	s, err := t.loc.Localize(lc)
	if err != nil {
		return "", fmt.Errorf("web: message %q in %s: %w", m.id, t.lang, err)
	}
	return s, nil
}
