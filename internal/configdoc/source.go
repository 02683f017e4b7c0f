// Package configdoc generates the configuration reference (docs/configuration.md)
// from the Go source of the configuration structs.
//
// Field doc comments exist only in source, so the structs are read with
// go/ast: starting from a root struct, it follows yaml tags the way
// qlikgate's strict decoder does (inline structs, pointers, slices of structs,
// maps) and records every key's path, type and comment. Defaults are values,
// not source, so they come from reflection on the defaults functions
// (Defaults). The caller, which can see the real types, puts the two together
// and renders the page (Render); Keys of the same reflection walk let a test
// prove that the page and config.yaml.example name every key the decoder
// accepts.
package configdoc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Source reads the packages of one Go module.
type Source struct {
	root   string            // the module's directory
	module string            // its path, from go.mod
	dirs   map[string]string // import path -> directory, for packages outside the module's layout ("main")
	fset   *token.FileSet
	pkgs   map[string]*pkgSource
}

// pkgSource is one parsed package: its files and their type declarations.
type pkgSource struct {
	path  string
	types map[string]typeDecl
}

// typeDecl is a named type and the file it is declared in (for its imports).
type typeDecl struct {
	spec *ast.TypeSpec
	file *ast.File
}

// NewSource reads go.mod in root to learn the module path.
func NewSource(root string) (*Source, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("configdoc: reading the module: %w", err)
	}
	module := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			module = strings.Trim(strings.TrimSpace(m), `"`)
			break
		}
	}
	if module == "" {
		return nil, fmt.Errorf("configdoc: %s/go.mod has no module line", root)
	}
	return &Source{root: root, module: module, dirs: map[string]string{}, fset: token.NewFileSet(), pkgs: map[string]*pkgSource{}}, nil
}

// MapPackage tells where a package lives whose import path does not follow
// the module layout; reflection names every command's package "main".
func (s *Source) MapPackage(importPath, dir string) { s.dirs[importPath] = dir }

// dir finds the directory of an import path inside the module.
func (s *Source) dir(importPath string) (string, bool) {
	if d, ok := s.dirs[importPath]; ok {
		return d, true
	}
	if importPath == s.module {
		return s.root, true
	}
	if rel, ok := strings.CutPrefix(importPath, s.module+"/"); ok {
		return filepath.Join(s.root, filepath.FromSlash(rel)), true
	}
	return "", false
}

// pkg parses a package's non-test files once.
func (s *Source) pkg(importPath string) (*pkgSource, error) {
	if p, ok := s.pkgs[importPath]; ok {
		return p, nil
	}
	dir, ok := s.dir(importPath)
	if !ok {
		return nil, fmt.Errorf("configdoc: package %s is outside module %s", importPath, s.module)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("configdoc: reading package %s: %w", importPath, err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	sort.Strings(names) // a type declared in two build-tagged files is taken from the first, every run the same
	p := &pkgSource{path: importPath, types: map[string]typeDecl{}}
	for _, n := range names {
		f, err := parser.ParseFile(s.fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("configdoc: parsing %s: %w", n, err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, sp := range g.Specs {
				ts := sp.(*ast.TypeSpec)
				if _, dup := p.types[ts.Name.Name]; !dup {
					p.types[ts.Name.Name] = typeDecl{spec: ts, file: f}
				}
			}
		}
	}
	if len(p.types) == 0 && len(names) == 0 {
		return nil, errors.New("configdoc: package " + importPath + " has no Go files")
	}
	s.pkgs[importPath] = p
	return p, nil
}

// lookup finds a named type in a package.
func (s *Source) lookup(importPath, name string) (typeDecl, error) {
	p, err := s.pkg(importPath)
	if err != nil {
		return typeDecl{}, err
	}
	t, ok := p.types[name]
	if !ok {
		return typeDecl{}, fmt.Errorf("configdoc: type %s not found in %s", name, importPath)
	}
	return t, nil
}

// importPath resolves a package name used in file f (as in web.ServerConfig).
func importPath(f *ast.File, name string) (string, bool) {
	for _, im := range f.Imports {
		p := strings.Trim(im.Path.Value, `"`)
		local := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			local = im.Name.Name
		}
		if local == name {
			return p, true
		}
	}
	return "", false
}
