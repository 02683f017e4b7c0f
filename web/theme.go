package web

import (
	"fmt"
	"math"
	"strconv"
)

// WCAG 2.x contrast minimums: 4.5:1 for text (AA), 3:1 for the boundaries
// of controls and focus indicators.
const (
	minTextContrast = 4.5
	// pageBackground is the darkest background primary-coloured text sits
	// on (--bg in qlikgate.css); white cards are lighter, so easier.
	pageBackground = "#f3f5f7"
)

// theme is the brand colour and the colours derived from it so that every
// use meets WCAG AA, whatever the colour: no primary_color is refused.
type theme struct {
	// Primary fills buttons.
	Primary string
	// OnPrimary is the text on Primary: black or white, whichever contrasts
	// more. One of them always reaches at least 4.58:1.
	OnPrimary string
	// PrimaryHover is Primary moved away from OnPrimary, so hovering never
	// lowers the contrast.
	PrimaryHover string
	// PrimaryText is for links, outlined buttons and focus rings on the
	// page: Primary itself when dark enough, else Primary darkened until
	// it reaches 4.5:1 on the page background.
	PrimaryText string
}

// newTheme derives the theme from a #rgb or #rrggbb colour.
func newTheme(primary string) (theme, error) {
	p, err := parseHex(primary)
	if err != nil {
		return theme{}, fmt.Errorf("primary_color: %w", err)
	}
	bg, _ := parseHex(pageBackground)
	black, white := rgb{0, 0, 0}, rgb{1, 1, 1}
	t := theme{Primary: p.hex(), OnPrimary: white.hex(), PrimaryHover: mix(p, black, 0.15).hex()}
	if contrast(p, black) > contrast(p, white) {
		t.OnPrimary, t.PrimaryHover = black.hex(), mix(p, white, 0.2).hex()
	}
	text := p
	for i := 1; contrast(text, bg) < minTextContrast && i <= 20; i++ {
		text, _ = parseHex(mix(p, black, float64(i)*0.05).hex()) // judge the colour the page gets
	}
	t.PrimaryText = text.hex()
	return t, nil
}

// css is the stylesheet that sets the theme's custom properties. It is a
// file rather than a style attribute, so the CSP needs no 'unsafe-inline'.
func (t theme) css() []byte {
	return fmt.Appendf(nil, ":root {\n  --primary: %s;\n  --on-primary: %s;\n  --primary-hover: %s;\n  --primary-text: %s;\n}\n",
		t.Primary, t.OnPrimary, t.PrimaryHover, t.PrimaryText)
}

// rgb is an sRGB colour with channels in [0, 1].
type rgb struct{ r, g, b float64 }

func parseHex(s string) (rgb, error) {
	if !colorPattern.MatchString(s) {
		return rgb{}, fmt.Errorf("%q is not a hex colour like #006580", s)
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	v, _ := strconv.ParseUint(h, 16, 32) // checked by the pattern
	return rgb{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255}, nil
}

func (c rgb) hex() string {
	ch := func(x float64) int { return int(math.Round(math.Max(0, math.Min(1, x)) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", ch(c.r), ch(c.g), ch(c.b))
}

// luminance is the WCAG relative luminance.
func (c rgb) luminance() float64 {
	lin := func(x float64) float64 {
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG contrast ratio of two colours, from 1 to 21.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// mix moves a towards b by t in [0, 1].
func mix(a, b rgb, t float64) rgb {
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}
