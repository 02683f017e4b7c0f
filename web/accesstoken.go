package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// accessTokenCall is POST /t/{id}/access-token for embedGate. A page
// asks once per view (the target caches the token), and qlik-embed asks
// again after an auth error: sixty a minute is far beyond a person and
// stops a looping script.
var accessTokenCall = embedCall{what: "access token", key: "at", rule: rule{limit: 60, lockout: time.Minute}, throttled: audit.AccessTokenThrottled}

// accessTokenRoutes registers POST /t/{id}/access-token and its preflight.
func (s *Server) accessTokenRoutes(g *echo.Group, post *guardedRoutes) error {
	return s.embedRoute(g, post, "/t/:target/access-token", s.handleAccessToken)
}

// handleAccessToken gives a signed-in user a Qlik Cloud access token for
// qlik-embed: POST /t/{id}/access-token → {"access_token": "…",
// "token_type": "bearer", "expires_at": "…"}.
func (s *Server) handleAccessToken(c echo.Context) error {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	h.Set("Cache-Control", "no-store")
	id := c.Param("target")
	issuer, ok := s.accessTokenTarget(id)
	if !ok {
		return embedError(c, http.StatusNotFound, "no_access_token_target")
	}
	user, ok, err := s.embedGate(c, id, accessTokenCall)
	if !ok {
		return err
	}
	tok, err := s.issueAccessToken(c, id, issuer, user, truncate(strings.Join(c.Request().Header.Values("Origin"), ","), 100))
	if err != nil {
		return embedFailure(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"access_token": tok.Value,
		"token_type":   "bearer",
		"expires_at":   tok.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// accessTokenTarget is target id when it issues access tokens.
func (s *Server) accessTokenTarget(id string) (qlik.AccessTokenIssuer, bool) {
	issuer, ok := s.targets[id].(qlik.AccessTokenIssuer)
	return issuer, ok && issuer.IssuesAccessTokens()
}

// issueAccessToken asks the target for user's token, with the metrics and
// the audit line (never the token) that both ways to get one share: the
// POST endpoint and the access-token window. origin is the page the token
// is for, for the log.
func (s *Server) issueAccessToken(c echo.Context, id string, issuer qlik.AccessTokenIssuer, user providers.Identity, origin string) (qlik.AccessToken, error) {
	ctx := c.Request().Context()
	start := time.Now()
	tok, err := issuer.IssueAccessToken(ctx, qlikUser(user))
	if err != nil {
		s.metrics.observeHandoff(id, s.kinds[id], err, time.Since(start))
		s.log.ErrorContext(ctx, "the target did not issue an access token", audit.Key, audit.AccessTokenFailed, "target", id, "user", user.UserID,
			"cause", err.Error(), "duration_ms", ms(time.Since(start)))
		return tok, err
	}
	if !tok.Cached { // a cached token is no Qlik call
		s.metrics.observeHandoff(id, s.kinds[id], nil, time.Since(start))
	}
	closingEvent(c, "issued an access token for qlik-embed", slog.String(audit.Key, audit.AccessTokenIssued), slog.String("target", id),
		slog.String("user", user.UserID), slog.String("origin", origin),
		slog.Bool("cached", tok.Cached), slog.Float64("qlik_ms", ms(time.Since(start))))
	return tok, nil
}
