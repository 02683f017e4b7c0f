package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/internal/reqctx"
)

const logKey = "qlikgate.log"

// requestLog is one request's logging: the logger its handlers use, made on
// first use, and what the line that closes the request says.
type requestLog struct {
	l *slog.Logger
	// msg and attrs, when set, replace the closing line's "request" and
	// event=http_request: an event that ends a request (a hand-off) is one
	// line, not two.
	msg   string
	attrs []slog.Attr
	// buf holds attrs and then the closing line's own attributes: the
	// requestLog is allocated anyway, two slices per request need not be.
	buf [10]slog.Attr
}

// logger returns the request's logger. Log with the request's context
// (WarnContext(ctx, …)): its request id and client address come from there,
// as they do for the providers' and targets' lines. A line written without
// it (Warn) is given the request's context anyway, so it still says which
// request it belongs to.
func (s *Server) logger(c echo.Context) *slog.Logger {
	rl, ok := c.Get(logKey).(*requestLog)
	if !ok {
		return s.log
	}
	if rl.l == nil {
		rl.l = reqctx.Bind(c.Request().Context(), s.log)
	}
	return rl.l
}

// closingEvent makes the request's closing line the event msg with attrs
// (which must include "event"), so that the hand-off, the request qlikgate
// serves most, costs one log line.
func closingEvent(c echo.Context, msg string, attrs ...slog.Attr) {
	if rl, ok := c.Get(logKey).(*requestLog); ok {
		// Copied, not kept: the caller's slice can then stay on its stack.
		rl.msg, rl.attrs = msg, append(rl.buf[:0], attrs...)
	}
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// logRequests puts the request id and client address in the request's
// context, where every package's log lines find them (reqctx.Handler), and
// logs one line when the request ends. The query string is not logged: it
// may carry values that are nobody's business in a log.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		r := c.Request()
		c.SetRequest(r.WithContext(reqctx.With(r.Context(), requestID(c), c.RealIP())))
		rl := &requestLog{}
		c.Set(logKey, rl)
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		level := slog.LevelInfo
		if c.Response().Status >= 500 {
			level = slog.LevelWarn
		}
		ctx := c.Request().Context()
		if !s.log.Enabled(ctx, level) {
			return nil
		}
		// request_id and remote_ip come from ctx, like every other line's.
		msg, attrs := rl.msg, rl.attrs
		if msg == "" {
			msg = "request"
			attrs = append(rl.buf[:0], slog.String(audit.Key, audit.HTTPRequest))
		}
		attrs = append(attrs,
			// Both are the client's choice, up to the 1 MB a request line
			// may take: a log line keeps enough to recognise them.
			slog.String("method", truncate(c.Request().Method, 16)),
			slog.String("path", truncate(c.Request().URL.Path, 256)),
			slog.Int("status", c.Response().Status),
			slog.Float64("duration_ms", ms(time.Since(start))))
		s.log.LogAttrs(ctx, level, msg, attrs...)
		return nil
	}
}

// recoverPanics turns a panic into the generic error page and a log line
// with the stack; the browser never sees the stack.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.ErrorContext(c.Request().Context(), "panic while serving a request", audit.Key, audit.Panic, "cause", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = s.errorPage(c, http.StatusInternalServerError, msgInternal)
			}
		}()
		return next(c)
	}
}

// securityHeaders sets headers every response gets. frameAncestors are
// the origins allowed to frame the pages (server.frame_ancestors).
//
// The values are the same on every response, so they are rendered into
// the header's form once, and each response gets the same (read-only)
// slices instead of seven fresh ones: Set and Add replace or copy a
// slice, they never write into it.
func securityHeaders(https bool, frameAncestors []string) echo.MiddlewareFunc {
	fixed := http.Header{}
	setSecurityHeaders(fixed, contentSecurityPolicy(frameAncestors, "", ""), https, len(frameAncestors) > 0)
	for k, v := range fixed {
		fixed[k] = v[:len(v):len(v)] // an Add must copy, not append in place
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			for k, v := range fixed {
				h[k] = v
			}
			return next(c)
		}
	}
}

// setSecurityHeaders writes the headers of securityHeaders into h; framed
// says whether server.frame_ancestors names any origin.
func setSecurityHeaders(h http.Header, csp string, https, framed bool) {
	h.Set("Content-Security-Policy", csp)
	// X-Frame-Options cannot name several origins; CSP frame-ancestors
	// replaces it in every current browser, so it is only sent when nobody
	// may frame the pages (for old ones).
	if !framed {
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer browsers send
	// "Origin: null" with qlikgate's own forms, and the Origin check
	// (originGuard) must refuse null. Nothing leaves for another origin
	// either way, so a ticket or entry in a URL still never leaks.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if https {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// contentSecurityPolicy is the policy of qlikgate's pages. There is no
// inline script or style anywhere, so it can be strict. script and connect
// are empty except on hand-off pages, which run a script of qlikgate's own
// ('self') that calls the origins in connect. form-action is left out on
// purpose: browsers apply it to the redirect that follows a login, which
// goes to Qlik. The origins were checked at start-up (frame_ancestors) or
// by the caller (connect), so none can end a directive.
func contentSecurityPolicy(frameAncestors []string, script, connect string) string {
	ancestors := "'none'"
	if len(frameAncestors) > 0 {
		ancestors = strings.Join(frameAncestors, " ")
	}
	var b strings.Builder
	b.WriteString("default-src 'none'; ")
	if script != "" {
		b.WriteString("script-src " + script + "; connect-src " + connect + "; ")
	}
	b.WriteString("style-src 'self'; img-src 'self' data:; base-uri 'none'; ")
	if script != "" {
		// A hand-off page posts nothing: its script talks to Qlik.
		b.WriteString("form-action 'none'; ")
	}
	b.WriteString("frame-ancestors " + ancestors)
	return b.String()
}
