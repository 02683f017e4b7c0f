package web

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/qlik"
)

// ticketHeader is the header a script must send with POST /t/{id}/ticket.
// A form or a simple cross-site request cannot carry it, and a script of
// another origin can only send it after a preflight that qlikgate answers
// for embed_origins alone: this, with the Origin check, keeps other sites
// from having a signed-in user's browser fetch a ticket for them.
const ticketHeader = "X-Qlikgate-Request"

// ticketRule limits tickets per user: a mashup asks for one when it opens
// an app, so thirty a minute is plenty for a person and stops a script
// that loops from minting tickets (each one a Qlik request) without end.
var ticketRule = rule{limit: 30, lockout: time.Minute}

// ticketEndpoint is what POST /t/{id}/ticket needs to know per target.
type ticketEndpoint struct {
	self   string                 // qlikgate's own origin, normalised
	guards map[string]originGuard // target id → its allowed origins
	all    []string               // every target's embed origins, for the route's guard
}

// newTicketEndpoint checks each target's embed_origins and that only
// targets that issue tickets have them.
func newTicketEndpoint(guard originGuard, targets map[string]qlik.Target, embed map[string][]string) (*ticketEndpoint, error) {
	te := &ticketEndpoint{self: guard.allowed[0], guards: map[string]originGuard{}}
	for id, t := range targets {
		origins := embed[id]
		if _, ok := t.(qlik.TicketIssuer); !ok {
			if len(origins) > 0 {
				return nil, fmt.Errorf("web: target %q: embed_origins is only for targets that issue tickets (sense-ticket)", id)
			}
			continue
		}
		g, err := guard.with(origins...)
		if err != nil {
			return nil, fmt.Errorf("web: target %q: embed_origins: %w", id, err)
		}
		te.guards[id] = g
		te.all = append(te.all, origins...)
	}
	for id := range embed {
		if _, ok := targets[id]; !ok && len(embed[id]) > 0 {
			return nil, fmt.Errorf("web: embed_origins for target %q, which is not among the targets", id)
		}
	}
	return te, nil
}

// corsOrigin is the request's Origin when target id allows it and it
// is another origin than qlikgate's own, so that the answer needs CORS
// headers; "" otherwise.
func (te *ticketEndpoint) corsOrigin(id string, r *http.Request) string {
	g, ok := te.guards[id]
	if !ok {
		return ""
	}
	values := r.Header.Values("Origin")
	if len(values) != 1 {
		return ""
	}
	o, ok := originOf(values[0])
	if !ok || o == te.self || !slices.Contains(g.allowed, o) {
		return ""
	}
	// Echoed as the browser sent it: CORS compares it byte for byte.
	return values[0]
}

// ticketRoutes registers POST /t/{id}/ticket and its preflight.
func (s *Server) ticketRoutes(g *echo.Group, post *guardedRoutes) error {
	g.OPTIONS("/t/:target/ticket", s.handleTicketPreflight)
	return post.postAPI("/t/:target/ticket", s.handleTicket, func(c echo.Context) error {
		return ticketError(c, http.StatusForbidden, "origin_not_allowed")
	}, s.tickets.all...)
}

// handleTicketPreflight answers the browser's CORS preflight for an
// allowed origin; any other gets no CORS headers, so the browser never
// sends the POST.
func (s *Server) handleTicketPreflight(c echo.Context) error {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	h.Set("Cache-Control", "no-store")
	o := s.tickets.corsOrigin(c.Param("target"), c.Request())
	if o == "" || c.Request().Header.Get("Access-Control-Request-Method") != http.MethodPost {
		return c.NoContent(http.StatusForbidden)
	}
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Allow-Methods", http.MethodPost)
	h.Set("Access-Control-Allow-Headers", ticketHeader)
	h.Set("Access-Control-Max-Age", "600")
	return c.NoContent(http.StatusNoContent)
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
		return ticketError(c, http.StatusNotFound, "no_ticket_target")
	}
	if g := s.tickets.guards[id]; g.refusal(c.Request()) != "" {
		// Another target's embed origin passed the route's guard.
		s.logger(c).Warn("refused a ticket request from an origin the target does not allow", audit.Key, audit.CSRFFailed,
			"reason", "origin", "target", id, "origin", truncate(c.Request().Header.Get("Origin"), 100))
		return ticketError(c, http.StatusForbidden, "origin_not_allowed")
	}
	origin := s.tickets.corsOrigin(id, c.Request())
	if origin != "" {
		// From here on the page may read the answer, errors included.
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if c.Request().Header.Get(ticketHeader) != "1" {
		s.logger(c).Warn("refused a ticket request without the "+ticketHeader+" header", audit.Key, audit.CSRFFailed,
			"reason", "header", "target", id, "origin", truncate(c.Request().Header.Get("Origin"), 100))
		return ticketError(c, http.StatusForbidden, "header_missing")
	}
	sess, st := s.sessions.load(c.Request())
	// A sign-in that still owes its second factor is not signed in yet.
	if st.User == nil || st.Owes != "" {
		return ticketError(c, http.StatusUnauthorized, "not_signed_in")
	}
	if st.touched {
		s.saveSession(c, sess, st)
	}
	user := *st.User
	ctx := c.Request().Context()
	if rule := accessRule(s.access[id], user.Provider, user.Groups); rule != "" {
		s.log.WarnContext(ctx, "ticket refused by the target's access rules", audit.Key, audit.AccessDenied,
			"target", id, "user", user.UserID, "provider", user.Provider, "rule", rule)
		s.metrics.observeDenied(id, s.kinds[id])
		return ticketError(c, http.StatusForbidden, "access_denied")
	}
	now := s.now()
	// A fixed window per minute: the key changes each minute, so a user who
	// asks steadily is never pushed into the login throttle's back-off.
	key := "tk:" + user.Provider + ":" + keyName(user.UserID) + ":" + strconv.FormatInt(now.Unix()/60, 10)
	until, err := s.throttle.store.reserve(ctx, key, now, ticketRule)
	if err != nil {
		// As for logins: a store that cannot be reached does not lock
		// everyone out; it is logged for the operator.
		s.log.ErrorContext(ctx, "the throttle store failed; the ticket request goes ahead uncounted", audit.Key, audit.ThrottleError, "cause", err.Error())
	} else if wait := until.Sub(now); wait > 0 {
		s.log.WarnContext(ctx, "too many ticket requests", audit.Key, audit.TicketThrottled, "target", id, "user", user.UserID)
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return ticketError(c, http.StatusTooManyRequests, "too_many_requests")
	}
	start := time.Now()
	tk, err := issuer.IssueTicket(ctx, qlikUser(user))
	s.metrics.observeHandoff(id, s.kinds[id], err, time.Since(start))
	if err != nil {
		s.log.ErrorContext(ctx, "the target did not issue a ticket", audit.Key, audit.TicketFailed, "target", id, "user", user.UserID,
			"cause", err.Error(), "duration_ms", ms(time.Since(start)))
		if unreachable(err) {
			return ticketError(c, http.StatusServiceUnavailable, "qlik_unavailable")
		}
		return ticketError(c, http.StatusBadGateway, "qlik_refused")
	}
	closingEvent(c, "issued a ticket for a mashup", slog.String(audit.Key, audit.TicketIssued), slog.String("target", id),
		slog.String("user", user.UserID), slog.String("origin", truncate(strings.Join(c.Request().Header.Values("Origin"), ","), 100)),
		slog.Float64("qlik_ms", ms(time.Since(start))))
	return c.JSON(http.StatusOK, map[string]any{"ticket": tk.Value, "expires_in": int(tk.ExpiresIn.Seconds())})
}

// ticketError is the endpoint's JSON error: a code a script can switch on.
func ticketError(c echo.Context, status int, code string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, map[string]string{"error": code})
}
