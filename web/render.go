package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/static"
)

// pages holds what rendering needs, loaded once at start-up: the parsed
// templates (one set per page), the message catalogs and the brand.
type pages struct {
	sets      map[string]*template.Template
	cat       *catalog
	ui        uiModel
	logo      []byte
	logoType  string
	themeCSS  []byte
	customCSS []byte
}

// uiModel is what every page can show about the brand (ui: block).
type uiModel struct {
	Title        string
	HasLogo      bool
	HasCustomCSS bool
	FooterText   string
	HelpURL      string
	HelpText     string // empty: the page shows "Help" in its language
	// Version changes with the theme, custom CSS and logo; it is added to
	// their URLs so browsers fetch the new ones after a restart.
	Version string
}

// loadPages reads and checks everything the ui block names. Errors name
// their key, relative to the block.
func loadPages(ui UIConfig) (*pages, error) {
	cat, err := loadCatalog(ui.DefaultLanguage)
	if err != nil {
		return nil, err
	}
	src, err := templateSources(ui.TemplatesDir)
	if err != nil {
		return nil, err
	}
	sets, err := parsePages(src)
	if err != nil {
		return nil, err
	}
	if err := dryRun(sets, src, cat); err != nil {
		return nil, err
	}
	p := &pages{sets: sets, cat: cat}
	if p.logo, p.logoType, err = readLogo(ui.LogoFile); err != nil {
		return nil, err
	}
	if p.customCSS, err = readCustomCSS(ui.CustomCSSFile); err != nil {
		return nil, err
	}
	th, err := newTheme(ui.PrimaryColor)
	if err != nil {
		return nil, err
	}
	p.themeCSS = th.css()
	sum := sha256.New()
	for _, b := range [][]byte{p.themeCSS, p.customCSS, p.logo} {
		sum.Write(b)
	}
	p.ui = uiModel{
		Title:        ui.Title,
		HasLogo:      p.logo != nil,
		HasCustomCSS: p.customCSS != nil,
		FooterText:   ui.FooterText,
		HelpURL:      ui.HelpURL,
		HelpText:     ui.HelpText,
		Version:      hex.EncodeToString(sum.Sum(nil))[:12],
	}
	return p, nil
}

// view is the data every template receives: the common fields, the
// fields of the page at hand, and T for translated texts.
type view struct {
	// Lang is the page's language (en, de…), for <html lang>.
	Lang string
	// Base is public_url's path, ending in "/": every link starts with it.
	Base string
	UI   uiModel
	// Heading and Message are the page's translated heading and message.
	Heading string
	Message string
	// login
	CSRF              string
	Flow              string
	Username          string
	Invalid           bool // the credentials were refused: mark the fields
	PasswordProviders []providerView
	RedirectProviders []providerView
	// Negotiate offers "Sign in as your Windows account" (GET /negotiate).
	Negotiate bool
	// error and unavailable
	RequestID string
	Retry     string
	// logout: the path the confirmation form posts to
	Action string
	// password: the password has expired (else it must be changed)
	PasswordExpired bool
	// SelfService: the password page is a signed-in user's own change
	// (posting to Action); on the sign-out page, that it may be offered.
	SelfService bool
	// Data is a hand-off page's own data (qlik.HandoffPage.Data).
	Data map[string]any

	heading msg
	msg     msg
	tr      translator
}

type providerView struct {
	ID, Label string
	Selected  bool
	// Available is false while a redirect provider cannot be reached.
	Available bool
}

// T translates a message id in the page's language. Templates pass data
// as name/value pairs: {{.T "signedout.message" "Title" .UI.Title}}; a
// "Count" value also chooses the plural form.
func (v view) T(id string, pairs ...any) (string, error) {
	if len(pairs)%2 != 0 {
		return "", fmt.Errorf("T %q: data must be name/value pairs", id)
	}
	m := msg{id: id}
	if len(pairs) > 0 {
		m.data = map[string]any{}
	}
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return "", fmt.Errorf("T %q: data name %v is not a string", id, pairs[i])
		}
		if k == "Count" {
			m.count = pairs[i+1]
		}
		m.data[k] = pairs[i+1]
	}
	return v.tr.text(m)
}

// translate resolves the heading and message the handler chose.
func (v *view) translate() error {
	var err error
	if !v.heading.isZero() {
		if v.Heading, err = v.tr.text(v.heading); err != nil {
			return err
		}
	}
	if !v.msg.isZero() {
		if v.Message, err = v.tr.text(v.msg); err != nil {
			return err
		}
	}
	return nil
}

// render writes a page with the given status, in the language the
// browser prefers among those qlikgate speaks.
func (s *Server) render(c echo.Context, status int, name string, v view) error {
	set, ok := s.pages.sets[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	lang := s.pages.cat.choose(c.Request().Header.Get("Accept-Language"))
	v.Lang, v.Base, v.UI, v.tr = lang, s.base, s.pages.ui, s.pages.cat.translator(lang)
	if err := v.translate(); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	if name == "login" && s.passwordless {
		s.passkeyScript(c) // the "sign in with a passkey" button
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", lang)
	h.Add("Vary", "Accept-Language")
	return c.HTMLBlob(status, buf.Bytes())
}

// problem shows why the user cannot go on: a friendly message, the request
// id as a reference the operator finds in the log, and a way back (retry).
// 503 gets the "service unavailable" page, everything else the error page.
func (s *Server) problem(c echo.Context, status int, m msg, retry string) error {
	// The handler may have changed the headers before it failed (a
	// hand-off page's script policy): an error page has the default ones.
	fa := s.cfg.Server.FrameAncestors
	setSecurityHeaders(c.Response().Header(), contentSecurityPolicy(fa, "", ""), s.cfg.Server.TLS.CertFile != "", len(fa) > 0)
	page, heading := "error", headingError
	if status == http.StatusServiceUnavailable {
		page, heading = "unavailable", headingUnavailable
	}
	return s.render(c, status, page, view{heading: say(heading), msg: m, RequestID: requestID(c), Retry: retry})
}

// errorPage is problem with a message id and a way back to the start.
func (s *Server) errorPage(c echo.Context, status int, id string) error {
	return s.problem(c, status, say(id), s.base)
}

// handleError renders errors that escape handlers (404, 405, body too large…)
// as pages, and logs unexpected ones.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	id := msgInternal
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch status {
		case http.StatusNotFound:
			id = msgNotFound
		case http.StatusMethodNotAllowed:
			id = msgMethodNotAllowed
		case http.StatusRequestEntityTooLarge:
			id = msgTooLarge
		}
	}
	if status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", audit.Key, audit.Error, "cause", err.Error())
	}
	if rerr := s.errorPage(c, status, id); rerr != nil {
		s.log.ErrorContext(c.Request().Context(), "rendering the error page failed", "cause", rerr.Error())
		_ = c.String(status, http.StatusText(status))
	}
}

func (s *Server) staticRoutes(g *echo.Group) {
	cache := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "public, max-age=3600")
			return next(c)
		}
	}
	sg := g.Group("/static", cache)
	sg.GET("/theme.css", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "text/css; charset=utf-8", s.pages.themeCSS)
	})
	if s.pages.customCSS != nil {
		sg.GET("/custom.css", func(c echo.Context) error {
			return c.Blob(http.StatusOK, "text/css; charset=utf-8", s.pages.customCSS)
		})
	}
	if s.pages.logo != nil {
		sg.GET("/logo", func(c echo.Context) error {
			return c.Blob(http.StatusOK, s.pages.logoType, s.pages.logo)
		})
	}
	sg.StaticFS("/", static.FS)
}
