package oidc

import (
	"context"
	"net/url"
	"testing"

	"github.com/qlikgate/qlikgate/providers/oidc/oidctest"
	"github.com/qlikgate/qlikgate/providers/providertest"
)

func TestConformance(t *testing.T) {
	op := oidctest.Start(t)
	p := openProvider(t, newClient(t, op, nil))
	gone := oidctest.Start(t)
	downCfg := newClient(t, gone, nil)
	gone.Stop()
	providertest.Redirect(t, providertest.RedirectSetup{
		Provider: p,
		SignIn: func(ctx context.Context, authURL string) (url.Values, error) {
			cb, err := op.Authorize(ctx, nil, authURL, "alice", "alicepass")
			if err != nil {
				return nil, err
			}
			return cb.Query(), nil
		},
		Unreachable: openProvider(t, downCfg),
	})
}
