// Package templates holds the HTML templates of qlikgate's pages, embedded in
// the binary. Each page defines "title" and "content"; layout.html wraps them.
// The comment at the top of each file lists the data it receives; a file of
// the same name in ui.templates_dir replaces it.
package templates

import "embed"

// FS holds layout.html and one file per page.
//
//go:embed *.html
var FS embed.FS
