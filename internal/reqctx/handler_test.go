package reqctx_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/reqctx"
)

func TestHandler(t *testing.T) {
	req := reqctx.With(context.Background(), "rid-1", "192.0.2.7")
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want string
	}{
		{"with a request's context", func(l *slog.Logger) { l.InfoContext(req, "hello", "k", "v") },
			`level=INFO msg=hello k=v request_id=rid-1 remote_ip=192.0.2.7`},
		{"LogAttrs", func(l *slog.Logger) { l.LogAttrs(req, slog.LevelWarn, "w") },
			`level=WARN msg=w request_id=rid-1 remote_ip=192.0.2.7`},
		{"outside a request", func(l *slog.Logger) { l.InfoContext(context.Background(), "hello") },
			`level=INFO msg=hello`},
		{"without a context", func(l *slog.Logger) { l.Info("hello") },
			`level=INFO msg=hello`},
		{"nil context", func(l *slog.Logger) {
			//lint:ignore SA1012 slog.Logger.Log accepts a nil context, so the handler must
			l.Log(nil, slog.LevelInfo, "hello")
		}, `level=INFO msg=hello`},
		{"after With", func(l *slog.Logger) { l.With("provider", "corp").InfoContext(req, "x") },
			`level=INFO msg=x provider=corp request_id=rid-1 remote_ip=192.0.2.7`},
		{"wrapped twice", func(l *slog.Logger) { slog.New(reqctx.NewHandler(l.Handler())).InfoContext(req, "x") },
			`level=INFO msg=x request_id=rid-1 remote_ip=192.0.2.7`},
		{"bound, without a context", func(l *slog.Logger) { reqctx.Bind(req, l).Info("x") },
			`level=INFO msg=x request_id=rid-1 remote_ip=192.0.2.7`},
		{"bound, with the request's context", func(l *slog.Logger) { reqctx.Bind(req, l).InfoContext(req, "x") },
			`level=INFO msg=x request_id=rid-1 remote_ip=192.0.2.7`},
		{"bound, with another request's context", func(l *slog.Logger) {
			reqctx.Bind(req, l).InfoContext(reqctx.With(context.Background(), "rid-2", "192.0.2.8"), "x")
		}, `level=INFO msg=x request_id=rid-2 remote_ip=192.0.2.8`},
		{"bound outside a request", func(l *slog.Logger) { reqctx.Bind(context.Background(), l).Info("x") },
			`level=INFO msg=x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			noTime := func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}
			l := slog.New(reqctx.NewHandler(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: noTime})))
			tt.log(l)
			if got := strings.TrimSpace(b.String()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestGetters(t *testing.T) {
	ctx := reqctx.With(context.Background(), "rid", "2001:db8::1")
	if reqctx.ID(ctx) != "rid" || reqctx.RemoteIP(ctx) != "2001:db8::1" {
		t.Errorf("ID, RemoteIP = %q, %q", reqctx.ID(ctx), reqctx.RemoteIP(ctx))
	}
	if reqctx.ID(context.Background()) != "" || reqctx.RemoteIP(context.Background()) != "" {
		t.Error("a context outside a request has an id or address")
	}
}

func TestEnabledFollowsTheWrappedHandler(t *testing.T) {
	l := slog.New(reqctx.NewHandler(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx := reqctx.With(context.Background(), "a", "b")
	if l.Enabled(ctx, slog.LevelInfo) || !l.Enabled(ctx, slog.LevelWarn) {
		t.Error("Enabled does not follow the wrapped handler's level")
	}
	if b := reqctx.Bind(ctx, l); b.Enabled(context.Background(), slog.LevelInfo) || !b.Enabled(context.Background(), slog.LevelError) {
		t.Error("a bound logger's Enabled does not follow the wrapped handler's level")
	}
}
