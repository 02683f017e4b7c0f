package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/qlik"
)

// ticketCall is POST /t/{id}/ticket for embedGate. A mashup asks for a
// ticket when it opens an app, so thirty a minute is plenty for a person
// and stops a script that loops from minting tickets (each one a Qlik
// request) without end.
var ticketCall = embedCall{what: "ticket", key: "tk", rule: rule{limit: 30, lockout: time.Minute}, throttled: audit.TicketThrottled}

// ticketRoutes registers POST /t/{id}/ticket and its preflight.
func (s *Server) ticketRoutes(g *echo.Group, post *guardedRoutes) error {
	return s.embedRoute(g, post, "/t/:target/ticket", s.handleTicket)
}

// handleTicket gives a signed-in user a one-time ticket for a mashup:
// POST /t/{id}/ticket → {"ticket": "…", "expires_in": 60}.
func (s *Server) handleTicket(c echo.Context) error {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	h.Set("Cache-Control", "no-store")
	id := c.Param("target")
	t, ok := s.targets[id]
	issuer, issues := t.(qlik.TicketIssuer)
	if !ok || !issues {
		return embedError(c, http.StatusNotFound, "no_ticket_target")
	}
	user, ok, err := s.embedGate(c, id, ticketCall)
	if !ok {
		return err
	}
	ctx := c.Request().Context()
	start := time.Now()
	tk, err := issuer.IssueTicket(ctx, qlikUser(user))
	s.metrics.observeHandoff(id, s.kinds[id], err, time.Since(start))
	if err != nil {
		s.log.ErrorContext(ctx, "the target did not issue a ticket", audit.Key, audit.TicketFailed, "target", id, "user", user.UserID,
			"cause", err.Error(), "duration_ms", ms(time.Since(start)))
		return embedFailure(c, err)
	}
	closingEvent(c, "issued a ticket for a mashup", slog.String(audit.Key, audit.TicketIssued), slog.String("target", id),
		slog.String("user", user.UserID), slog.String("origin", truncate(strings.Join(c.Request().Header.Values("Origin"), ","), 100)),
		slog.Float64("qlik_ms", ms(time.Since(start))))
	return c.JSON(http.StatusOK, map[string]any{"ticket": tk.Value, "expires_in": int(tk.ExpiresIn.Seconds())})
}
