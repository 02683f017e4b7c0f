package configdoc

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Entry is a key of the reference with its default.
type Entry struct {
	Key
	// Default is the value written as in YAML; "" when there is none.
	Default string
}

// Section is one heading of the reference and its keys.
type Section struct {
	Title   string // plain text; the heading
	Intro   string // markdown, before the table
	Entries []Entry
}

// Page is the whole reference.
type Page struct {
	Title    string
	Intro    string // markdown, after the title
	Sections []Section
}

// Merge pairs the keys read from source with the defaults read by
// reflection. The two walks must agree on the key set: a key in one but not
// the other means a struct the walker does not understand, and the page
// would lie, so it is an error naming the keys.
func Merge(keys []Key, defaults map[string]string) ([]Entry, error) {
	var out []Entry
	seen := map[string]bool{}
	var missing []string
	for _, k := range keys {
		d, ok := defaults[k.Path]
		if !ok {
			missing = append(missing, k.Path+" (in source, not in the value)")
			continue
		}
		seen[k.Path] = true
		out = append(out, Entry{Key: k, Default: d})
	}
	for p := range defaults {
		if !seen[p] {
			missing = append(missing, p+" (in the value, not in source)")
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("configdoc: source and reflection disagree on %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Render writes the page as Markdown: one table per section.
func Render(p Page) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", p.Title)
	if p.Intro != "" {
		b.WriteString(strings.TrimSpace(p.Intro) + "\n\n")
	}
	for _, s := range p.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Title)
		if s.Intro != "" {
			b.WriteString(strings.TrimSpace(s.Intro) + "\n\n")
		}
		b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
		for _, e := range s.Entries {
			doc := e.Doc
			if e.Secret {
				doc = strings.TrimSpace(doc + " Secret: may instead be given as `" + e.Name() + "_file`, the path of a file holding it.")
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", code(e.Path), cell(e.Type), defaultCell(e), cell(doc))
		}
		b.WriteString("\n")
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

func defaultCell(e Entry) string {
	if e.Default == "" || (e.Block && e.Type == "mapping") {
		return "—"
	}
	return code(e.Default)
}

// code quotes a value as inline code; a value with a backquote gets a
// longer fence, as CommonMark allows.
func code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + strings.ReplaceAll(s, "|", `\|`) + fence
}

var pipe = regexp.MustCompile(`\|`)

// cell keeps a table cell on one line and its pipes from ending it.
func cell(s string) string {
	return pipe.ReplaceAllString(strings.Join(strings.Fields(s), " "), `\|`)
}

// Paths lists the keys a rendered page documents: the first column of its
// tables.
func Paths(page []byte) map[string]bool {
	out := map[string]bool{}
	for _, m := range rowPattern.FindAllSubmatch(page, -1) {
		out[string(m[1])] = true
	}
	return out
}

var rowPattern = regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
