package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/static"
	"github.com/qlikgate/qlikgate/templates"
)

// Messages shown to users. They never say whether an account exists, and
// never carry a Go error string.
const (
	msgBadCredentials   = "The username or password is incorrect."
	msgUnavailable      = "Sign-in is temporarily unavailable. Please try again in a few minutes."
	msgExpiredForm      = "This sign-in page had expired. Please sign in again."
	msgInternal         = "Something went wrong on our side. Please try again; if it keeps happening, give the reference below to your support team."
	msgBadEntry         = "The link that brought you here is not valid for this sign-in service. Go back to Qlik and try again; if it keeps happening, give the reference below to your support team."
	msgQlikRefused      = "You are signed in, but Qlik did not accept the hand-over. Please try again; if it keeps happening, give the reference below to your support team."
	msgLoop             = "Qlik keeps sending you back here right after sign-in, so we stopped to avoid an endless loop. Your administrator can find what Qlik answered in the log under the reference below."
	msgUnknownTarget    = "This address does not lead to a configured Qlik site."
	msgNoProvider       = "Choose a sign-in method."
	msgThrottledSeconds = "Too many sign-in attempts. Try again in %d seconds."
	msgThrottledMinutes = "Too many sign-in attempts. Try again in %d minutes."
	msgFlowLost         = "Your sign-in took too long or was started in another window. Please try again."
	msgRedirectFailed   = "Sign-in with your identity provider did not succeed. Please try again; if it keeps happening, give the reference below to your support team."
)

// pages holds the parsed templates, one set per page, and the UI model.
type pages struct {
	sets     map[string]*template.Template
	ui       uiModel
	logo     []byte
	logoType string
	themeCSS []byte
}

// uiModel is what every page can show about the brand.
type uiModel struct {
	Title   string
	HasLogo bool
}

func loadPages(ui UIConfig) (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}, ui: uiModel{Title: ui.Title}}
	layout, err := template.ParseFS(templates.FS, "layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	// Every other file is a page defining "title" and "content".
	files, err := fs.Glob(templates.FS, "*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(file, ".html")
		if name == "layout" {
			continue
		}
		set, err := layout.Clone()
		if err == nil {
			_, err = set.ParseFS(templates.FS, name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.sets[name] = set
	}
	if p.logo, p.logoType, err = readLogo(ui.LogoFile); err != nil {
		return nil, err
	}
	p.ui.HasLogo = p.logo != nil
	// The brand colour goes into a stylesheet rather than a style attribute,
	// so the Content-Security-Policy needs no 'unsafe-inline'.
	p.themeCSS = []byte(":root { --primary: " + ui.PrimaryColor + "; }\n")
	return p, nil
}

// view is the data every template receives: the page's own fields plus the
// common ones.
type view struct {
	Lang string
	Base string
	UI   uiModel
	// login
	Message           string
	CSRF              string
	Flow              string
	Username          string
	PasswordProviders []providerView
	RedirectProviders []providerView
	// error
	Heading   string
	RequestID string
	Retry     string
	// Data is a hand-off page's own data (qlik.HandoffPage.Data).
	Data map[string]any
}

type providerView struct {
	ID, Label string
	Selected  bool
	// Available is false while a redirect provider cannot be reached.
	Available bool
}

// render writes a page with the given status.
func (s *Server) render(c echo.Context, status int, name string, v view) error {
	v.Lang, v.Base, v.UI = "en", s.base, s.pages.ui
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage shows a friendly message with the request id as a reference the
// operator can find in the log.
func (s *Server) errorPage(c echo.Context, status int, msg string) error {
	heading := "Sign-in problem"
	if status == http.StatusServiceUnavailable {
		heading = "Service unavailable"
	}
	return s.render(c, status, "error", view{Heading: heading, Message: msg, RequestID: requestID(c), Retry: s.base})
}

// handleError renders errors that escape handlers (404, 405, body too large…)
// as pages, and logs unexpected ones.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	msg := msgInternal
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch status {
		case http.StatusNotFound:
			msg = "This page does not exist."
		case http.StatusMethodNotAllowed:
			msg = "This page cannot be used that way."
		case http.StatusRequestEntityTooLarge:
			msg = "The request was too large."
		}
	}
	if status >= 500 {
		s.logger(c).Error("request failed", "event", "error", "cause", err.Error())
	}
	if rerr := s.errorPage(c, status, msg); rerr != nil {
		s.logger(c).Error("rendering the error page failed", "cause", rerr.Error())
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
	if s.pages.logo != nil {
		sg.GET("/logo", func(c echo.Context) error {
			return c.Blob(http.StatusOK, s.pages.logoType, s.pages.logo)
		})
	}
	sg.StaticFS("/", static.FS)
}
