package static

import (
	"context"
	"log/slog"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/providertest"
)

func TestConformance(t *testing.T) {
	cfg := Config{Users: []User{{Username: "alice", PasswordHash: mustHash(t, "alicepw")}}}
	p, err := Open(context.Background(), providers.Common{ID: "local"}, &cfg, providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Static users need no server, so there is no unreachable variant.
	providertest.Password(t, providertest.PasswordSetup{Provider: p, User: "alice", Password: "alicepw"})
}
