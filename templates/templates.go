// Package templates holds the HTML templates of qlikgate's pages, embedded in
// the binary. Each page defines "title" and "content"; layout.html wraps them.
package templates

import "embed"

// FS holds layout.html and one file per page.
//
//go:embed *.html
var FS embed.FS
