package qlik

import (
	"context"
	"net/http"

	"github.com/redis/go-redis/v9"
)

// Shared describes the state qlikgate's instances share, for targets that
// keep some of their own (cloud-oidc's codes and access tokens).
type Shared struct {
	// Redis is session.redis's client options when session.store is
	// redis; nil means state stays in this process.
	Redis *redis.Options
	// KeyPrefix starts every key (session.redis.key_prefix).
	KeyPrefix string
	// Secret is session.secret: targets derive from it, each with a label
	// of its own, keys that every instance must hold.
	Secret string
}

// EndpointServer is implemented by targets with protocol endpoints of
// their own (qlikgate as Qlik Cloud's OpenID provider: discovery, token,
// JWKS, userinfo, end-session). The web layer serves Endpoints under
// /t/{id}/ with the /t/{id} prefix stripped, behind its own middleware; the
// target's entry (/t/{id}/) and logout stay the web layer's, so the
// authorization step (who is signed in, the login page, access rules,
// second factors) is the same as for every other target.
type EndpointServer interface {
	Endpoints() http.Handler
}

type signedInKey struct{}

// WithSignedIn returns ctx carrying the browser's signed-in user, which
// the web layer gives an EndpointServer's handler when the request comes
// with a qlikgate session that owes no second factor.
func WithSignedIn(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, signedInKey{}, u)
}

// SignedIn returns the user WithSignedIn put in ctx.
func SignedIn(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(signedInKey{}).(User)
	return u, ok
}
