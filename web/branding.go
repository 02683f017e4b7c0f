package web

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"
)

// maxCustomCSS bounds ui.custom_css_file: it is held in memory and sent
// with every page view, so anything bigger is a mistake (a bundle, a font).
const maxCustomCSS = 256 << 10

// readLogo reads ui.logo_file, if any, and tells its content type.
func readLogo(path string) ([]byte, string, error) {
	if path == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("logo_file: %w", err)
	}
	ct := http.DetectContentType(b)
	if strings.HasSuffix(strings.ToLower(path), ".svg") {
		ct = "image/svg+xml"
	}
	if !strings.HasPrefix(ct, "image/") {
		return nil, "", fmt.Errorf("logo_file: %s is not an image (%s)", path, ct)
	}
	return b, ct, nil
}

// readCustomCSS reads ui.custom_css_file, if any. The browser gets it as
// it is, after qlikgate.css and the theme, so its rules win.
func readCustomCSS(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("custom_css_file: %w", err)
	}
	switch {
	case len(b) > maxCustomCSS:
		return nil, fmt.Errorf("custom_css_file: %s is %d KiB; a stylesheet for these pages should stay under %d KiB", path, len(b)>>10, maxCustomCSS>>10)
	case !utf8.Valid(b):
		return nil, fmt.Errorf("custom_css_file: %s is not a UTF-8 text file", path)
	}
	return b, nil
}
