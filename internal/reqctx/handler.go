package reqctx

import (
	"context"
	"log/slog"
)

// Log keys of what Handler adds; the design's operator log names them.
const (
	KeyRequestID = "request_id"
	KeyRemoteIP  = "remote_ip"
)

// Handler adds request_id and remote_ip from the context to every record
// logged with a request's context (InfoContext, LogAttrs …). The request
// logger used to live in the HTTP layer alone, so directory, identity
// provider and Qlik lines could not be told apart between requests.
//
// The attributes are added to the record, so they land in the group of a
// logger made with WithGroup; qlikgate makes none.
type Handler struct {
	inner slog.Handler
}

// NewHandler wraps h. Wrapping a Handler again returns it unchanged, so
// that a library that wraps the logger it is given cannot make every line
// carry the request id twice.
func NewHandler(h slog.Handler) slog.Handler {
	if rh, ok := h.(Handler); ok {
		return rh
	}
	return Handler{inner: h}
}

// Enabled reports whether the wrapped handler logs at level.
func (h Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle adds the request's attributes, when ctx carries them, and passes
// the record on.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if v, ok := from(ctx); ok {
		r.AddAttrs(slog.String(KeyRequestID, v.id), slog.String(KeyRemoteIP, v.ip))
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns a Handler over the wrapped handler with attrs.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{inner: h.inner.WithAttrs(attrs)}
}

// WithGroup returns a Handler over the wrapped handler with the group.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{inner: h.inner.WithGroup(name)}
}

// Bind returns a logger that logs records written without a request's
// context (Info rather than InfoContext) as if written with ctx, so that a
// call that forgot the context still says which request it belongs to.
// Records written with a request's context keep theirs. l's handler should
// be a Handler: Bind only supplies the context, Handler adds the attributes.
func Bind(ctx context.Context, l *slog.Logger) *slog.Logger {
	if _, ok := from(ctx); !ok {
		return l
	}
	return slog.New(bound{inner: l.Handler(), ctx: ctx})
}

type bound struct {
	inner slog.Handler
	ctx   context.Context
}

func (b bound) pick(ctx context.Context) context.Context {
	if _, ok := from(ctx); ok {
		return ctx
	}
	return b.ctx
}

func (b bound) Enabled(ctx context.Context, level slog.Level) bool {
	return b.inner.Enabled(b.pick(ctx), level)
}

func (b bound) Handle(ctx context.Context, r slog.Record) error {
	return b.inner.Handle(b.pick(ctx), r)
}

func (b bound) WithAttrs(attrs []slog.Attr) slog.Handler {
	return bound{inner: b.inner.WithAttrs(attrs), ctx: b.ctx}
}

func (b bound) WithGroup(name string) slog.Handler {
	return bound{inner: b.inner.WithGroup(name), ctx: b.ctx}
}
