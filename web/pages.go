package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/qlikgate/qlikgate/templates"
)

// layoutFile wraps every page; each other template file is a page that
// defines "title" and "content".
const layoutFile = "layout.html"

// templateSource is the text of one template file and where it came from,
// for error messages.
type templateSource struct {
	name, origin, text string
}

// templateSources returns the embedded templates by file name, each
// replaced by the file of the same name in dir when there is one. A file
// in dir that replaces nothing is an error: it is most likely a typo
// ("Login.html") that would otherwise be silently ignored.
func templateSources(dir string) (map[string]templateSource, error) {
	files, err := fs.Glob(templates.FS, "*.html")
	if err != nil {
		return nil, fmt.Errorf("web: embedded templates: %w", err)
	}
	out := map[string]templateSource{}
	for _, f := range files {
		b, err := fs.ReadFile(templates.FS, f)
		if err != nil {
			return nil, fmt.Errorf("web: embedded template %s: %w", f, err)
		}
		out[f] = templateSource{name: f, origin: "embedded " + f, text: string(b)}
	}
	if dir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("templates_dir: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if _, ok := out[e.Name()]; !ok {
			errs = append(errs, fmt.Errorf("templates_dir: %s: no embedded template has this name (they are %s)", path, strings.Join(slices.Sorted(maps.Keys(out)), ", ")))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("templates_dir: %w", err))
			continue
		}
		out[e.Name()] = templateSource{name: e.Name(), origin: path, text: string(b)}
	}
	return out, errors.Join(errs...)
}

// parsePages parses one template set per page: the layout plus the page.
// The page is parsed after the layout, so it may also redefine templates
// the layout defines.
func parsePages(src map[string]templateSource) (map[string]*template.Template, error) {
	layoutSrc, ok := src[layoutFile]
	if !ok {
		return nil, errors.New("web: no " + layoutFile)
	}
	layout, err := template.New(layoutFile).Parse(layoutSrc.text)
	if err != nil {
		return nil, sourceError(layoutSrc, err)
	}
	sets := map[string]*template.Template{}
	var errs []error
	for name, s := range src {
		if name == layoutFile {
			continue
		}
		set, err := layout.Clone()
		if err == nil {
			_, err = set.New(name).Parse(s.text)
		}
		if err == nil && (set.Lookup("title") == nil || set.Lookup("content") == nil) {
			err = errors.New(`a page must define "title" and "content"`)
		}
		if err != nil {
			errs = append(errs, sourceError(s, err))
			continue
		}
		sets[strings.TrimSuffix(name, ".html")] = set
	}
	return sets, errors.Join(errs...)
}

// sourceError names the file a template error comes from: the override's
// path under templates_dir, or the embedded file (a bug, caught by tests).
func sourceError(s templateSource, err error) error {
	if strings.HasPrefix(s.origin, "embedded ") {
		return fmt.Errorf("web: %s: %w", s.origin, err)
	}
	return fmt.Errorf("templates_dir: %s: %w", s.origin, err)
}

// dryRun renders every page with sample data in the reference language,
// so that an override calling a field or message that does not exist
// fails at start-up, naming its file, instead of at a user's visit.
func dryRun(sets map[string]*template.Template, src map[string]templateSource, cat *catalog) error {
	var errs []error
	for name, set := range sets {
		for _, v := range sampleViews(name) {
			v.Lang, v.Base, v.tr = referenceLanguage, "/", cat.translator(referenceLanguage)
			if err := v.translate(); err != nil {
				return err
			}
			if err := set.ExecuteTemplate(new(bytes.Buffer), "layout", v); err != nil {
				e := sourceError(blame(src, name+".html", err), err)
				if !slices.ContainsFunc(errs, func(x error) bool { return x.Error() == e.Error() }) {
					errs = append(errs, e) // a broken layout breaks every page alike
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

// templateFile finds the file name in an error of html/template, such as
// "html/template:layout.html:1:30: …" or "template: login.html:3:5: …".
var templateFile = regexp.MustCompile(`template: ?([A-Za-z0-9_.-]+\.html):`)

// blame is the source an execution error comes from: the file its
// message names, else the page.
func blame(src map[string]templateSource, page string, err error) templateSource {
	if m := templateFile.FindStringSubmatch(err.Error()); m != nil {
		if s, ok := src[m[1]]; ok {
			return s
		}
	}
	return src[page]
}

// sampleViews fills every field a page may show, so that the dry run
// takes every branch a real request can.
func sampleViews(page string) []view {
	ui := uiModel{Title: "Sample", HasLogo: true, HasCustomCSS: true, FooterText: "Footer", HelpURL: "https://help.example/", HelpText: "Help", Version: "0"}
	full := view{
		UI: ui, msg: say(msgBadCredentials), heading: say(headingError), Invalid: true,
		CSRF: "csrf", Flow: "flow", Username: "user", RequestID: "REF", Retry: "/", Action: "/logout", PasswordExpired: true,
		PasswordProviders: []providerView{{ID: "a", Label: "A", Available: true}, {ID: "b", Label: "B", Available: true, Selected: true}},
		RedirectProviders: []providerView{{ID: "c", Label: "C", Available: true}, {ID: "d", Label: "D"}},
		Data:              map[string]any{},
	}
	one := full
	one.PasswordProviders = full.PasswordProviders[:1]
	none := view{UI: uiModel{Title: "Sample"}, Data: map[string]any{}}
	return []view{full, one, none}
}

// checkTemplates parses and dry-runs the templates with the overrides in
// dir, for UIConfig.Validate.
func checkTemplates(dir string) error {
	if dir == "" {
		return nil
	}
	src, err := templateSources(dir)
	if err != nil {
		return err
	}
	sets, err := parsePages(src)
	if err != nil {
		return err
	}
	cat, err := loadCatalog("")
	if err != nil {
		return err
	}
	return dryRun(sets, src, cat)
}
