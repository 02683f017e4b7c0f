// Package reqctx carries what identifies a request (its id and the client's
// address) in its context.Context, so that every log line written while
// serving it says which request it belongs to, whichever package writes it.
package reqctx

import "context"

type key struct{}

// values is stored once per request, so one context lookup finds both.
type values struct{ id, ip string }

// With returns ctx carrying the request id and the client's address.
func With(ctx context.Context, id, ip string) context.Context {
	return context.WithValue(ctx, key{}, values{id: id, ip: ip})
}

// ID returns the request id ctx carries, or "" outside a request.
func ID(ctx context.Context) string {
	v, _ := ctx.Value(key{}).(values)
	return v.id
}

// RemoteIP returns the client address ctx carries, or "" outside a request.
func RemoteIP(ctx context.Context) string {
	v, _ := ctx.Value(key{}).(values)
	return v.ip
}

func from(ctx context.Context) (values, bool) {
	if ctx == nil { // slog.Logger.Log accepts a nil context
		return values{}, false
	}
	v, ok := ctx.Value(key{}).(values)
	return v, ok
}
