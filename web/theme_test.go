package web

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"testing"
)

func mustHex(t *testing.T, s string) rgb {
	t.Helper()
	c, err := parseHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestContrastFormula(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#fff", "#ffffff", 1},
		{"#777777", "#ffffff", 4.48}, // the classic near miss
		{"#006580", "#ffffff", 6.62},
	} {
		if got := contrast(mustHex(t, tt.a), mustHex(t, tt.b)); fmt.Sprintf("%.2f", got) != fmt.Sprintf("%.2f", tt.want) {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestThemeMeetsAA: whatever primary_color is, the derived colours meet
// WCAG AA where the stylesheet uses them.
func TestThemeMeetsAA(t *testing.T) {
	colours := []string{"#006580", "#fff", "#ffffff", "#000000", "#ffff00", "#777777", "#767676", "#7f7f7f", "#e0e0e0",
		"#ff0000", "#00ff00", "#0000ff", "#ff9900", "#4285f4", "#009639", "#e30613", "#7a00e6", "#00a3e0"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		colours = append(colours, fmt.Sprintf("#%06x", r.IntN(1<<24)))
	}
	white, page := mustHex(t, "#ffffff"), mustHex(t, pageBackground)
	for _, c := range colours {
		th, err := newTheme(c)
		if err != nil {
			t.Fatal(err)
		}
		p, on, hover, text := mustHex(t, th.Primary), mustHex(t, th.OnPrimary), mustHex(t, th.PrimaryHover), mustHex(t, th.PrimaryText)
		checks := []struct {
			what string
			a, b rgb
			min  float64
		}{
			{"button text", on, p, minTextContrast},
			{"hovered button text", on, hover, minTextContrast},
			{"links and outlined buttons on white", text, white, minTextContrast},
			{"links on the page background", text, page, minTextContrast},
		}
		for _, ck := range checks {
			if got := contrast(ck.a, ck.b); got < ck.min {
				t.Errorf("%s: %s: %.2f:1, want at least %.1f:1 (%+v)", c, ck.what, got, ck.min, th)
			}
		}
	}
	if th, _ := newTheme("#006580"); th.PrimaryText != "#006580" || th.OnPrimary != "#ffffff" {
		t.Errorf("a dark enough colour is changed: %+v", th)
	}
	if _, err := newTheme("teal"); err == nil {
		t.Error("a colour name was accepted")
	}
}

// TestStylesheetPalette checks the fixed colour pairs of qlikgate.css.
func TestStylesheetPalette(t *testing.T) {
	css, err := os.ReadFile("../static/qlikgate.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]rgb{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-f]{6});`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = mustHex(t, m[2])
	}
	if bg := vars["bg"]; bg != mustHex(t, pageBackground) {
		t.Errorf("--bg is not pageBackground (%s)", pageBackground)
	}
	for _, p := range []struct {
		fg, bg string
		min    float64
	}{
		{"text", "card", 4.5}, {"text", "bg", 4.5},
		{"muted", "card", 4.5}, {"muted", "bg", 4.5}, {"muted", "error-bg", 4.5},
		{"error", "error-bg", 4.5}, {"error", "card", 4.5},
		{"border", "card", 3}, // input outlines
		{"on-primary", "primary", 4.5}, {"on-primary", "primary-hover", 4.5}, {"primary-text", "bg", 4.5},
	} {
		if got := contrast(vars[p.fg], vars[p.bg]); got < p.min {
			t.Errorf("--%s on --%s: %.2f:1, want %.1f:1", p.fg, p.bg, got, p.min)
		}
	}
}
