// Package static holds the stylesheet, script and images served under
// /static/, embedded in the binary. Plain CSS, no framework, nothing from a
// CDN. theme.css (from ui.primary_color), custom.css (ui.custom_css_file)
// and logo (ui.logo_file) are added by the web package.
package static

import "embed"

// FS holds the assets.
//
//go:embed *.css *.svg *.js
var FS embed.FS
