package config

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder decodes YAML nodes into Go structs strictly, collecting every problem rather than stopping at the
// first, so that one run of `qlikgate check` shows everything that is wrong with a config file.
//
// Struct fields are matched by their `yaml:"name"` tag; fields without one (or with `yaml:"-"`) are never
// filled from the file. A secret string field is marked with a separate tag, `secret:"true"`, e.g.
//
//	BindPassword string `yaml:"bind_password" secret:"true"`
//
// and may then be given as bind_password_file instead. (A `,secret` option inside the yaml tag is not used
// because yaml.v3 rejects unknown options, which would break yaml.Marshal of the same structs.)
type decoder struct {
	baseDir  string                       // directory of the config file: relative *_file paths are resolved against it
	getenv   func(string) (string, bool)  // os.LookupEnv in production
	readFile func(string) ([]byte, error) // os.ReadFile in production
	errs     []error                      // collected; each error's message starts with the key path

	active  map[*yaml.Node]bool // anchors being decoded through an alias, to stop aliases that contain themselves
	aliases int                 // aliases followed so far, to stop "billion laughs" documents
}

// maxYAMLAliases is far more than a hand-written config uses, and few enough to bound the work of nested aliases.
const maxYAMLAliases = 10000

func newDecoder(baseDir string) *decoder {
	return &decoder{baseDir: baseDir, getenv: os.LookupEnv, readFile: os.ReadFile}
}

// errorf appends an error "path: message".
func (d *decoder) errorf(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.errs = append(d.errs, errors.New(msg))
}

// errorAt is errorf for problems with a value, adding the line so the user finds it without counting keys.
func (d *decoder) errorAt(node *yaml.Node, path, format string, args ...any) {
	if node.Line > 0 {
		format += fmt.Sprintf(" (line %d)", node.Line)
	}
	d.errorf(path, format, args...)
}

// err returns all collected errors joined, nil if none.
func (d *decoder) err() error { return errors.Join(d.errs...) }

// parseYAML parses a whole document and returns its root mapping node. An empty document yields an empty
// mapping, so that defaults apply and validation reports what is missing.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: ")) // "line N: ..."
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the configuration must be a mapping of keys to values", root.Line)
	}
	return root, nil
}

// scalarAt returns the raw (unexpanded) scalar value of key in a mapping node, merge keys applied, e.g. to read
// `kind:` before choosing which kind-specific block to decode. Problems with the mapping are left to its decoding.
func scalarAt(node *yaml.Node, key string) (string, bool) {
	node = resolveAlias(node)
	if node == nil || node.Kind != yaml.MappingNode {
		return "", false
	}
	for _, e := range (&decoder{}).entries(node, "", false) {
		if e.k.Value == key {
			v := resolveAlias(e.v)
			if v == nil || v.Kind != yaml.ScalarNode || isNullNode(v) {
				return "", false
			}
			return v.Value, true
		}
	}
	return "", false
}

// decode decodes node into out (a non-nil pointer), naming problems with path. extra, when non-nil, lists
// additional keys allowed in the top-level mapping of node and where to decode them (kind-specific blocks).
func (d *decoder) decode(node *yaml.Node, path string, out any, extra map[string]any) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		d.errorf(path, "internal error: cannot decode into %T", out)
		return
	}
	d.value(node, path, v.Elem(), extra)
}

var (
	yamlNodeType        = reflect.TypeFor[yaml.Node]()
	durationGoType      = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *decoder) value(node *yaml.Node, path string, v reflect.Value, extra map[string]any) {
	if node == nil {
		return
	}
	switch node.Kind {
	case yaml.DocumentNode:
		if len(node.Content) > 0 {
			d.value(node.Content[0], path, v, extra)
		}
		return
	case yaml.AliasNode:
		if node.Alias == nil || d.active[node.Alias] {
			d.errorAt(node, path, "alias *%s refers to itself or to no anchor", node.Value)
			return
		}
		d.aliases++
		if d.aliases > maxYAMLAliases {
			if d.aliases == maxYAMLAliases+1 {
				d.errorAt(node, path, "more than %d aliases followed; stopping", maxYAMLAliases)
			}
			return
		}
		if d.active == nil {
			d.active = map[*yaml.Node]bool{}
		}
		d.active[node.Alias] = true
		defer delete(d.active, node.Alias)
		d.value(node.Alias, path, v, extra)
		return
	}
	if isNullNode(node) {
		return // `key:` or `key: ~` keeps the default
	}
	switch {
	case v.Type() == yamlNodeType: // kept raw, for the caller to decode once it knows more (e.g. the kind)
		v.Set(reflect.ValueOf(*node))
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(node, path, v.Elem(), extra)
	case reflect.PointerTo(v.Type()).Implements(textUnmarshalerType):
		d.scalarNode(node, path, v)
	case v.Kind() == reflect.Struct:
		d.structValue(node, path, v, extra)
	case v.Kind() == reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			d.errorAt(node, path, "expected a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(node.Content), len(node.Content))
		for i, elem := range node.Content {
			d.value(elem, fmt.Sprintf("%s[%d]", path, i), s.Index(i), nil)
		}
		v.Set(s)
	case v.Kind() == reflect.Map:
		d.mapValue(node, path, v)
	default:
		d.scalarNode(node, path, v)
	}
}

// cfgField is a struct field that can be set from a mapping key.
type cfgField struct {
	name   string
	index  []int
	secret bool // may be given as name_file instead
}

// cfgFields lists the keys of struct type t, with the fields of `yaml:",inline"` structs in place.
func cfgFields(t reflect.Type, index []int, out []cfgField) []cfgField {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(slices.Clone(index), i)
		if slices.Contains(strings.Split(opts, ","), "inline") {
			// An unexported embedded struct value still has settable exported fields; a pointer does not.
			if f.Type.Kind() == reflect.Struct && (f.IsExported() || f.Anonymous) {
				out = cfgFields(f.Type, idx, out)
			} else if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct && f.IsExported() {
				out = cfgFields(f.Type.Elem(), idx, out)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // as yaml.v3 does
		}
		secret := f.Tag.Get("secret") == "true" && f.Type.Kind() == reflect.String
		out = append(out, cfgField{name: name, index: idx, secret: secret})
	}
	return out
}

// cfgFieldValue is v.FieldByIndex, allocating inline pointers on the way instead of panicking.
func cfgFieldValue(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

func (d *decoder) structValue(node *yaml.Node, path string, v reflect.Value, extra map[string]any) {
	if node.Kind != yaml.MappingNode {
		d.errorAt(node, path, "expected a mapping")
		return
	}
	fs := cfgFields(v.Type(), nil, nil)
	byName := map[string]cfgField{}
	for _, f := range fs {
		if _, dup := byName[f.name]; !dup {
			byName[f.name] = f
		}
	}
	given := map[string]bool{} // secrets given directly, to refuse also getting them from a file
	type secretFile struct {
		f    cfgField
		key  string
		node *yaml.Node
	}
	var files []secretFile
	d.pairs(node, path, func(k, val *yaml.Node) {
		key, p := k.Value, keyPath(path, k.Value)
		if f, ok := byName[key]; ok {
			fv := cfgFieldValue(v, f.index)
			d.value(val, p, fv, nil)
			if isNullNode(val) {
				return
			}
			given[key] = true
			// Paths are made absolute now, so that opening them later does not depend on the working directory.
			if !f.secret && fv.Kind() == reflect.String && (strings.HasSuffix(key, "_file") || strings.HasSuffix(key, "_dir")) {
				fv.SetString(d.resolve(fv.String()))
			}
			// Lists of paths (signing_key_files) likewise.
			if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String && strings.HasSuffix(key, "_files") {
				for i := 0; i < fv.Len(); i++ {
					fv.Index(i).SetString(d.resolve(fv.Index(i).String()))
				}
			}
			return
		}
		if target, ok := extra[key]; ok {
			d.decode(val, p, target, nil)
			return
		}
		if base, ok := strings.CutSuffix(key, "_file"); ok && byName[base].secret {
			files = append(files, secretFile{byName[base], key, val})
			return
		}
		d.errorf(p, "unknown key%s", suggestKey(key, fs, extra))
	})
	// Secret files are read after the whole mapping is seen, so that "both given" is caught in either order.
	for _, sf := range files {
		p := keyPath(path, sf.key)
		if given[sf.f.name] {
			d.errorf(keyPath(path, sf.f.name), "set either %s or %s, not both", sf.f.name, sf.key)
			continue
		}
		var name string
		n := len(d.errs)
		d.value(sf.node, p, reflect.ValueOf(&name).Elem(), nil)
		if len(d.errs) > n || name == "" {
			continue
		}
		data, err := d.readFile(d.resolve(name))
		if err != nil {
			d.errorf(p, "%v", err)
			continue
		}
		// Files written by editors and `echo` end in a newline that is not part of the secret.
		s := string(data)
		if t, ok := strings.CutSuffix(s, "\n"); ok {
			s = strings.TrimSuffix(t, "\r")
		}
		cfgFieldValue(v, sf.f.index).SetString(s)
	}
}

func (d *decoder) mapValue(node *yaml.Node, path string, v reflect.Value) {
	if node.Kind != yaml.MappingNode {
		d.errorAt(node, path, "expected a mapping")
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	d.pairs(node, path, func(k, val *yaml.Node) {
		p := keyPath(path, k.Value)
		key := reflect.New(v.Type().Key()).Elem()
		if !d.scalar(k, p, k.Value, key) { // keys are not expanded
			return
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if old := v.MapIndex(key); old.IsValid() {
			elem.Set(old) // keep defaults of an entry that is only partly given
		}
		d.value(val, p, elem, nil)
		v.SetMapIndex(key, elem)
	})
}

// pairs calls fn for each key and value of a mapping, YAML merge keys applied (see entries), rejecting non-scalar
// and duplicate keys.
func (d *decoder) pairs(node *yaml.Node, path string, fn func(k, val *yaml.Node)) {
	for _, e := range d.entries(node, path, true) {
		fn(e.k, e.v)
	}
}

// entry is one key and value of a mapping.
type entry struct{ k, v *yaml.Node }

// entries returns the keys and values of a mapping with YAML merge keys (`<<: *qps`, `<<: [*a, *b]`) applied: the
// mapping's own keys, then the keys of the merged mappings that it does not set itself, an earlier mapping of a
// list winning over a later one. Admins with several targets on one Sense site share its addresses and
// certificates this way. A merged value keeps its own node, so an error in it names the key path where it is used
// and the line where it is written (in the anchor).
//
// report is false for mappings reached through an alias: their problems are reported where the anchor itself is
// decoded, not again at every use.
func (d *decoder) entries(node *yaml.Node, path string, report bool) []entry {
	var own []entry
	var merge *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, val := resolveAlias(node.Content[i]), node.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			if report {
				d.errorAt(node.Content[i], path, "keys must be plain names, not lists or mappings")
			}
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if report {
				d.errorAt(k, keyPath(path, k.Value), "duplicate key, first given at line %d", first)
			}
			continue
		}
		seen[k.Value] = k.Line
		if k.ShortTag() == "!!merge" {
			merge = val
			continue
		}
		own = append(own, entry{k, val})
	}
	if merge == nil {
		return own
	}
	out := own
	for _, src := range d.mergeSources(merge, path, report) {
		for _, e := range src {
			if _, set := seen[e.k.Value]; !set { // set in the mapping itself or by an earlier merged mapping
				seen[e.k.Value] = e.k.Line
				out = append(out, e)
			}
		}
	}
	return out
}

// mergeSources returns the entries of each mapping the value of the merge key of the mapping at path names, in
// the order given.
func (d *decoder) mergeSources(val *yaml.Node, path string, report bool) [][]entry {
	mp := keyPath(path, "<<")
	items := []*yaml.Node{val}
	if val.Kind == yaml.SequenceNode {
		items = val.Content
	}
	var out [][]entry
	for _, it := range items {
		if it.Kind != yaml.AliasNode {
			if it.Kind != yaml.MappingNode {
				if report {
					d.errorAt(it, mp, "merge a mapping or a list of mappings, usually an alias such as <<: *name")
				}
				continue
			}
			out = append(out, d.entries(it, path, report))
			continue
		}
		if it.Alias == nil || d.active[it.Alias] {
			d.errorAt(it, mp, "alias *%s refers to itself or to no anchor", it.Value)
			continue
		}
		if it.Alias.Kind != yaml.MappingNode {
			d.errorAt(it, mp, "*%s is not a mapping: only mappings can be merged", it.Value)
			continue
		}
		d.aliases++
		if d.aliases > maxYAMLAliases {
			if d.aliases == maxYAMLAliases+1 {
				d.errorAt(it, mp, "more than %d aliases followed; stopping", maxYAMLAliases)
			}
			return out
		}
		if d.active == nil {
			d.active = map[*yaml.Node]bool{}
		}
		d.active[it.Alias] = true
		out = append(out, d.entries(it.Alias, path, false))
		delete(d.active, it.Alias)
	}
	return out
}

func (d *decoder) scalarNode(node *yaml.Node, path string, v reflect.Value) {
	if node.Kind != yaml.ScalarNode {
		d.errorAt(node, path, "expected a single value, not a list or mapping")
		return
	}
	if s, ok := d.expand(path, node.Value); ok {
		d.scalar(node, path, s, v)
	}
}

// scalar parses s (already expanded) into v. It parses itself rather than using node.Decode so that quoted
// numbers and expanded ${VARS} are accepted and errors read well.
func (d *decoder) scalar(node *yaml.Node, path, s string, v reflect.Value) bool {
	fail := func(format string, args ...any) bool {
		d.errorAt(node, path, format, args...)
		return false
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if err := u.UnmarshalText([]byte(s)); err != nil {
				return fail("cannot use %q: %v", s, err)
			}
			return true
		}
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			return fail("cannot use %q as a boolean (true or false)", s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == durationGoType {
			dur, err := time.ParseDuration(s)
			if err != nil {
				return fail(`must be a duration like "90s" or "8h", not %q`, s)
			}
			v.SetInt(int64(dur))
			return true
		}
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fail("cannot use %q as an integer%s", s, outOfRangeNote(err))
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fail("cannot use %q as a non-negative integer%s", s, outOfRangeNote(err))
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fail("cannot use %q as a number", s)
		}
		v.SetFloat(f)
	default:
		return fail("internal error: cannot decode into Go type %s", v.Type())
	}
	return true
}

func outOfRangeNote(err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return " (out of range)"
	}
	return ""
}

// expand replaces ${NAME} with the environment variable NAME. Only the braced form is recognised, so a bare
// "$" passes through (argon2 and bcrypt hashes are full of them); "$${" is a literal "${". A "${" that does not
// start a valid reference is an error rather than kept, since it is almost always a typo such as ${FOO:-x}.
func (d *decoder) expand(path, s string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	ok := true
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 || !isEnvName(s[i+2:i+end]) {
			d.errorf(path, `invalid reference %q: write ${NAME}, or $${ for a literal "${"`, s[i:])
			return "", false
		}
		name := s[i+2 : i+end]
		if val, set := d.getenv(name); set {
			b.WriteString(val)
		} else {
			d.errorf(path, "environment variable %s is not set", name)
			ok = false
		}
		s = s[i+end+1:]
	}
	b.WriteString(s)
	return b.String(), ok
}

func isEnvName(s string) bool {
	for i, c := range s {
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// resolve makes a relative path relative to the config file's directory.
func (d *decoder) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.baseDir, p)
}

// suggestKey returns ` (did you mean "x"?)` for the allowed key closest to key, if within 2 edits.
func suggestKey(key string, fs []cfgField, extra map[string]any) string {
	var names []string
	for _, f := range fs {
		names = append(names, f.name)
		if f.secret {
			names = append(names, f.name+"_file")
		}
	}
	extraNames := make([]string, 0, len(extra))
	for k := range extra {
		extraNames = append(extraNames, k)
	}
	slices.Sort(extraNames) // deterministic choice between equally close names
	best, bestDist := "", 3
	for _, n := range append(names, extraNames...) {
		if dist := keyDistance(key, n); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// keyDistance is the Levenshtein distance between a and b.
func keyDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func isNullNode(n *yaml.Node) bool {
	n = resolveAlias(n)
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
