package configdoc

import (
	"fmt"
	"go/ast"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Key is one configuration key as the source declares it.
type Key struct {
	// Path is the key's full path, with [] for list items:
	// providers[].ldap.username.strip_domain.
	Path string
	// Type describes the value for a reader: string, duration, list of strings…
	Type string
	// Doc is the field's comment, turned from Go into configuration terms.
	Doc string
	// Secret keys may instead be given as <key>_file.
	Secret bool
	// Block is set for keys whose value is a mapping (or list of mappings)
	// with keys of its own, which follow it.
	Block bool
}

// Name is the key's last element (strip_domain).
func (k Key) Name() string { return k.Path[strings.LastIndex(k.Path, ".")+1:] }

// Keys lists the keys of the named struct type, each path starting with
// prefix ("server", "providers[].ldap"), in declaration order.
func (s *Source) Keys(importPath, typeName, prefix string) ([]Key, error) {
	t, err := s.lookup(importPath, typeName)
	if err != nil {
		return nil, err
	}
	st, ok := t.spec.Type.(*ast.StructType)
	if !ok {
		return nil, fmt.Errorf("configdoc: %s.%s is not a struct", importPath, typeName)
	}
	w := walker{src: s}
	if err := w.structKeys(importPath, t.file, st, prefix, 0); err != nil {
		return nil, err
	}
	return w.keys, nil
}

type walker struct {
	src  *Source
	keys []Key
}

// maxDepth stops a type that contains itself; configuration is never this deep.
const maxDepth = 12

// field is one yaml key of a struct, before its comment is rewritten.
type field struct {
	goName, name string
	pkg          string    // where the field is declared: an inline struct's
	file         *ast.File // fields come from its own file and imports
	expr         ast.Expr
	doc          string
	secret       bool
}

func (w *walker) structKeys(pkg string, file *ast.File, st *ast.StructType, prefix string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("configdoc: %s: types nested too deeply (a type that contains itself?)", prefix)
	}
	fields, err := w.fields(pkg, file, st, depth)
	if err != nil {
		return err
	}
	names := map[string]string{} // Go field name -> key, to rewrite comments
	for _, f := range fields {
		names[f.goName] = f.name
	}
	for _, f := range fields {
		path := f.name
		if prefix != "" {
			path = prefix + "." + f.name
		}
		k := Key{Path: path, Doc: rewriteDoc(f.doc, f.goName, names), Secret: f.secret}
		typ, sub, err := w.describe(f.pkg, f.file, f.expr)
		if err != nil {
			return fmt.Errorf("configdoc: %s: %w", path, err)
		}
		k.Type = typ
		k.Block = sub != nil
		w.keys = append(w.keys, k)
		if sub != nil {
			if err := w.structKeys(sub.pkg, sub.file, sub.st, path+sub.suffix, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fields lists the yaml keys of a struct with inline structs' keys in place,
// as the decoder's cfgFields does.
func (w *walker) fields(pkg string, file *ast.File, st *ast.StructType, depth int) ([]field, error) {
	var out []field
	for _, f := range st.Fields.List {
		tags := reflect.StructTag("")
		if f.Tag != nil {
			raw, err := strconv.Unquote(f.Tag.Value)
			if err != nil {
				return nil, fmt.Errorf("configdoc: bad struct tag %s", f.Tag.Value)
			}
			tags = reflect.StructTag(raw)
		}
		tag, ok := tags.Lookup("yaml")
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			sub, err := w.resolveStruct(pkg, file, f.Type)
			if err != nil {
				return nil, err
			}
			if sub == nil {
				return nil, fmt.Errorf("configdoc: inline field of type %s is not a struct", exprString(f.Type))
			}
			inner, err := w.fields(sub.pkg, sub.file, sub.st, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
			continue
		}
		doc := ""
		if f.Doc != nil {
			doc = f.Doc.Text()
		} else if f.Comment != nil {
			doc = f.Comment.Text()
		}
		goNames := f.Names
		if len(goNames) == 0 { // embedded without inline: yaml names it after the type
			goNames = []*ast.Ident{{Name: typeIdent(f.Type)}}
		}
		for _, id := range goNames {
			if !id.IsExported() {
				continue
			}
			n := name
			if n == "" {
				n = strings.ToLower(id.Name)
			}
			secret := tags.Get("secret") == "true" && isString(f.Type)
			out = append(out, field{goName: id.Name, name: n, pkg: pkg, file: file, expr: f.Type, doc: doc, secret: secret})
		}
	}
	return out, nil
}

// structRef is a struct type found in source, with the path suffix its
// keys get ("[]" for the items of a list).
type structRef struct {
	pkg    string
	file   *ast.File
	st     *ast.StructType
	suffix string
}

// describe names a field's type for a reader, and returns the struct whose
// keys nest under it, if any.
func (w *walker) describe(pkg string, file *ast.File, e ast.Expr) (string, *structRef, error) {
	switch t := e.(type) {
	case *ast.StarExpr:
		typ, sub, err := w.describe(pkg, file, t.X)
		return typ, sub, err
	case *ast.ArrayType:
		typ, sub, err := w.describe(pkg, file, t.Elt)
		if err != nil {
			return "", nil, err
		}
		if sub != nil {
			sub.suffix += "[]"
			return "list of mappings", sub, nil
		}
		return "list of " + plural(typ), nil, nil
	case *ast.MapType:
		kt, _, err := w.describe(pkg, file, t.Key)
		if err != nil {
			return "", nil, err
		}
		vt, sub, err := w.describe(pkg, file, t.Value)
		if err != nil {
			return "", nil, err
		}
		if sub != nil {
			return "", nil, fmt.Errorf("maps of structs are not supported by the decoder's documentation")
		}
		return "map of " + kt + " to " + vt, nil, nil
	}
	sub, err := w.resolveStruct(pkg, file, e)
	if err != nil {
		return "", nil, err
	}
	if sub != nil {
		return "mapping", sub, nil
	}
	return w.scalarType(pkg, file, e)
}

// scalarType names a non-struct, non-container type.
func (w *walker) scalarType(pkg string, file *ast.File, e ast.Expr) (string, *structRef, error) {
	switch t := e.(type) {
	case *ast.Ident:
		switch t.Name {
		case "string", "bool":
			return t.Name, nil, nil
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
			return "integer", nil, nil
		case "float32", "float64":
			return "number", nil, nil
		}
		if d, err := w.src.lookup(pkg, t.Name); err == nil {
			return w.describe(pkg, d.file, d.spec.Type)
		}
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok {
			p, _ := importPath(file, x.Name)
			if p == "time" && t.Sel.Name == "Duration" {
				return "duration", nil, nil
			}
			if d, err := w.src.lookup(p, t.Sel.Name); err == nil {
				return w.describe(p, d.file, d.spec.Type)
			}
		}
	}
	return exprString(e), nil, nil
}

// resolveStruct returns the struct a type expression names, or nil.
func (w *walker) resolveStruct(pkg string, file *ast.File, e ast.Expr) (*structRef, error) {
	switch t := e.(type) {
	case *ast.StarExpr:
		return w.resolveStruct(pkg, file, t.X)
	case *ast.StructType:
		return &structRef{pkg: pkg, file: file, st: t}, nil
	case *ast.Ident:
		d, err := w.src.lookup(pkg, t.Name)
		if err != nil {
			return nil, nil // a predeclared type
		}
		if st, ok := d.spec.Type.(*ast.StructType); ok {
			return &structRef{pkg: pkg, file: d.file, st: st}, nil
		}
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		if !ok {
			return nil, nil
		}
		p, ok := importPath(file, x.Name)
		if !ok {
			return nil, fmt.Errorf("package %s is not imported", x.Name)
		}
		if _, inModule := w.src.dir(p); !inModule {
			return nil, nil // time.Duration and the like are values, not blocks
		}
		d, err := w.src.lookup(p, t.Sel.Name)
		if err != nil {
			return nil, err
		}
		if st, ok := d.spec.Type.(*ast.StructType); ok {
			return &structRef{pkg: p, file: d.file, st: st}, nil
		}
	}
	return nil, nil
}

func isString(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "string"
}

func typeIdent(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return typeIdent(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

func exprString(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return exprString(t.X) + "." + t.Sel.Name
	case *ast.StarExpr:
		return exprString(t.X)
	}
	return fmt.Sprintf("%T", e)
}

func plural(t string) string {
	switch {
	case strings.HasPrefix(t, "map of "), strings.HasPrefix(t, "list of "):
		return t
	case strings.HasSuffix(t, "s"):
		return t + "es"
	}
	return t + "s"
}

var wordPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*`)

// rewriteDoc turns a Go field comment into text about the key: the leading
// field name goes ("Timeout bounds…" becomes "Bounds…", "Listen is the
// address…" becomes "The address…"), and names of sibling fields become
// their keys in backquotes, since a reader of the configuration never sees
// the Go names.
func rewriteDoc(doc, goName string, keys map[string]string) string {
	text := strings.Join(strings.Fields(doc), " ")
	if rest, ok := strings.CutPrefix(text, goName+" "); ok {
		for _, verb := range []string{"is ", "are "} {
			if r, ok := strings.CutPrefix(rest, verb); ok {
				rest = r
				break
			}
		}
		text = capitalize(rest)
	} else if rest, ok := strings.CutPrefix(text, goName+", "); ok {
		text = capitalize(rest)
	}
	return wordPattern.ReplaceAllStringFunc(text, func(w string) string {
		if k, ok := keys[w]; ok && goCompound.MatchString(w) {
			return "`" + k + "`"
		}
		return w
	})
}

// goCompound matches names that can only be Go identifiers (MaxAttempts,
// BindDN). Single words are left alone: "Redis" or "Timeout" in a comment
// are as likely to mean the thing as the field.
var goCompound = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*[a-z0-9][A-Z]`)

// capitalize starts a sentence, unless it starts with a value that must
// keep its case (client.pem, redis://…).
func capitalize(s string) string {
	first, _, _ := strings.Cut(s, " ")
	first = strings.TrimRight(first, ",;:.")
	for _, r := range first {
		if !unicode.IsLetter(r) {
			return s
		}
	}
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
