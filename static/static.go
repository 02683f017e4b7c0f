// Package static holds the stylesheet and images served under /static/,
// embedded in the binary. Plain CSS, no framework, nothing from a CDN.
package static

import "embed"

// FS holds the assets.
//
//go:embed *.css *.svg *.js
var FS embed.FS
