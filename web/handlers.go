package web

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// Input bounds: anything longer is not a real username or password, and
// hashing megabytes would be a cheap denial of service.
const (
	maxUsername = 256
	maxPassword = 1024
)

// target returns the target named in the path, or the default one.
func (s *Server) target(c echo.Context) (qlik.Target, bool) {
	id := c.Param("target")
	if id == "" {
		return s.deflt, true
	}
	t, ok := s.targets[id]
	return t, ok
}

// handleEntry is where Qlik sends unauthenticated browsers: GET / and
// GET /t/{target}/. A signed-in browser is handed over at once (single
// sign-on); otherwise the entry is remembered and the login page shown.
func (s *Server) handleEntry(c echo.Context) error {
	t, ok := s.target(c)
	if !ok {
		return s.errorPage(c, http.StatusNotFound, msgUnknownTarget)
	}
	entry, err := t.ParseEntry(c.QueryParams())
	if err != nil {
		s.logger(c).Warn("refused an entry from Qlik", "event", "bad_entry", "target", t.ID(), "cause", err.Error())
		return s.errorPage(c, http.StatusBadRequest, msgBadEntry)
	}
	sess, st := s.sessions.load(c.Request())
	now := s.now()
	if st.User != nil {
		if st.noteHandoff(now) {
			s.logger(c).Error("redirect loop: Qlik keeps sending a signed-in user back; check the target's hub_url, the virtual proxy and what the QPS answered above",
				"event", "redirect_loop", "target", t.ID(), "user", st.User.UserID, "handoffs", len(st.Handoffs), "window", loopWindow.String())
			st.Handoffs = nil
			s.saveSession(c, sess, st)
			return s.errorPage(c, http.StatusBadGateway, msgLoop)
		}
		return s.handoff(c, sess, st, t, entry)
	}
	flowID := st.addFlow(t.ID(), entry, now)
	s.saveSession(c, sess, st)
	return s.render(c, http.StatusOK, "login", s.loginView(st, flowID, c.QueryParam("provider")))
}

// handleLoginPage shows the login page for a pending entry (?flow=) or for
// the default target.
func (s *Server) handleLoginPage(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	flowID := s.flowFor(st, c.QueryParam("flow"))
	s.saveSession(c, sess, st)
	return s.render(c, http.StatusOK, "login", s.loginView(st, flowID, c.QueryParam("provider")))
}

// flowFor returns id when it is a pending flow, else a new flow for the
// default target without entry.
func (s *Server) flowFor(st *state, id string) string {
	for _, f := range st.Flows {
		if f.ID == id {
			return id
		}
	}
	return st.addFlow(s.deflt.ID(), qlik.Entry{}, s.now())
}

func (s *Server) loginView(st *state, flowID, selected string) view {
	v := view{CSRF: st.CSRF, Flow: flowID}
	for _, p := range s.providers {
		if _, ok := p.Impl.(providers.PasswordProvider); ok {
			label := p.Label
			if label == "" {
				label = p.ID
			}
			v.PasswordProviders = append(v.PasswordProviders, providerView{ID: p.ID, Label: label, Selected: p.ID == selected})
		}
	}
	return v
}

// handleLogin checks a password form and hands the user over to Qlik.
func (s *Server) handleLogin(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	flowID := s.flowFor(st, c.FormValue("flow"))
	providerID := c.FormValue("provider")
	fail := func(status int, msg string) error {
		s.saveSession(c, sess, st)
		v := s.loginView(st, flowID, providerID)
		v.Message = msg
		if len(c.FormValue("username")) <= maxUsername {
			v.Username = c.FormValue("username")
		}
		return s.render(c, status, "login", v)
	}
	if !validToken(st.CSRF, c.FormValue("csrf")) {
		log.Warn("login form with a missing or wrong CSRF token", "event", "csrf_failed")
		return fail(http.StatusForbidden, msgExpiredForm)
	}
	if providerID == "" && len(s.password) == 1 {
		for id := range s.password {
			providerID = id
		}
	}
	pp, ok := s.password[providerID]
	if !ok {
		return fail(http.StatusBadRequest, msgNoProvider)
	}
	username, password := c.FormValue("username"), c.FormValue("password")
	start := time.Now()
	var (
		id  providers.Identity
		err error
	)
	if len(username) > maxUsername || len(password) > maxPassword {
		err = &providers.Failure{Reason: "input_too_long", Err: providers.ErrBadCredentials}
	} else {
		id, err = pp.Login(c.Request().Context(), username, password)
	}
	if err != nil {
		status, msg, level := http.StatusUnauthorized, msgBadCredentials, slog.LevelInfo
		var f *providers.Failure
		switch {
		case errors.Is(err, providers.ErrBadCredentials):
			if errors.As(err, &f) && f.UserText != "" {
				msg = f.UserText
			}
		case errors.Is(err, providers.ErrUnavailable):
			status, msg, level = http.StatusServiceUnavailable, msgUnavailable, slog.LevelWarn
		default:
			status, msg, level = http.StatusInternalServerError, msgInternal, slog.LevelError
		}
		log.Log(c.Request().Context(), level, "login failed", "event", "login_failed", "provider", providerID,
			"user", truncate(username, 64), "cause", err.Error(), "duration_ms", ms(time.Since(start)))
		return fail(status, msg)
	}
	p := s.provider(providerID)
	id.Provider, id.Directory = p.ID, p.Directory
	f, _ := st.takeFlow(flowID)
	st.login(id, s.now())
	log.Info("login succeeded", "event", "login_succeeded", "provider", providerID, "user", id.UserID,
		"directory", id.Directory, "duration_ms", ms(time.Since(start)))
	t, ok := s.targets[f.Target]
	if !ok {
		t = s.deflt
	}
	return s.handoff(c, sess, st, t, f.Entry)
}

func (s *Server) provider(id string) Provider {
	for _, p := range s.providers {
		if p.ID == id {
			return p
		}
	}
	return Provider{}
}

// handoff sends a signed-in user to Qlik through target t.
func (s *Server) handoff(c echo.Context, sess *sessions.Session, st *state, t qlik.Target, e qlik.Entry) error {
	log := s.logger(c)
	u := qlikUser(*st.User)
	start := time.Now()
	h, err := t.Login(c.Request().Context(), u, e)
	if err == nil && h.Redirect == "" && h.Page == nil {
		err = errors.New("target returned neither a redirect nor a page")
	}
	if err != nil {
		log.Error("hand-off to Qlik failed", "event", "handoff_failed", "target", t.ID(), "user", u.UserID,
			"cause", err.Error(), "duration_ms", ms(time.Since(start)))
		s.saveSession(c, sess, st)
		return s.errorPage(c, http.StatusBadGateway, msgQlikRefused)
	}
	st.addTarget(t.ID())
	log.Info("handed off to Qlik", "event", "handoff", "target", t.ID(), "user", u.UserID, "duration_ms", ms(time.Since(start)))
	for _, ck := range h.Cookies {
		c.SetCookie(ck)
	}
	s.saveSession(c, sess, st)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, h.Redirect)
}

// handleLogout ends the qlikgate session and the Qlik sessions of the
// targets it handed the user to (or of the target in the path). A target
// may need the browser for its part (remove a cookie, visit a logout URL):
// cookies are applied, and the first redirect is followed instead of
// showing the signed-out page.
func (s *Server) handleLogout(c echo.Context) error {
	sess, st := s.sessions.load(c.Request())
	log := s.logger(c)
	var redirect string
	if st.User != nil {
		ids := st.Targets
		if c.Param("target") != "" {
			ids = []string{c.Param("target")}
		}
		u := qlikUser(*st.User)
		for _, id := range ids {
			t, ok := s.targets[id]
			if !ok {
				continue
			}
			h, err := t.Logout(c.Request().Context(), u)
			if err != nil {
				log.Warn("Qlik logout failed", "event", "logout_failed", "target", id, "user", u.UserID, "cause", err.Error())
			}
			for _, ck := range h.Cookies {
				c.SetCookie(ck)
			}
			if redirect == "" {
				redirect = h.Redirect
			}
		}
		log.Info("signed out", "event", "logout", "user", u.UserID, "provider", st.User.Provider)
	}
	if err := s.sessions.clear(c.Response(), c.Request(), sess); err != nil {
		log.Error("clearing the session cookie failed", "cause", err.Error())
	}
	if redirect != "" {
		return c.Redirect(http.StatusFound, redirect)
	}
	return s.render(c, http.StatusOK, "signedout", view{})
}

// saveSession writes the session cookie; a failure is logged, not shown:
// the request can still complete, only single sign-on is lost.
func (s *Server) saveSession(c echo.Context, sess *sessions.Session, st *state) {
	if err := s.sessions.save(c.Response(), c.Request(), sess, st); err != nil {
		s.logger(c).Warn("could not save the session: single sign-on will not work for this browser", "event", "session_save_failed", "cause", err.Error())
	}
}

func validToken(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func qlikUser(id providers.Identity) qlik.User {
	return qlik.User{Directory: id.Directory, UserID: id.UserID, Name: id.Name, Email: id.Email, Groups: id.Groups, Attributes: id.Attributes}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
