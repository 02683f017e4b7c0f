package static_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/static"
)

// BenchmarkLoginDefaultArgon2 is a static-provider login at the cost
// qlikgate's hash-password uses (static.DefaultArgon2): one argon2id
// verification plus the provider's bookkeeping. hashes/s is the ceiling of
// static logins per second on one core; "parallel" uses every core (the
// provider lets 2×NumCPU verifications run at once).
func BenchmarkLoginDefaultArgon2(b *testing.B) {
	hash, err := static.HashPassword("correct horse battery staple", static.DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	p, err := static.Open(context.Background(), providers.Common{ID: "local"}, &static.Config{Users: []static.User{
		{Username: "alice", PasswordHash: hash},
	}}, providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	login := func() error {
		_, err := p.Login(ctx, "alice", "correct horse battery staple")
		return err
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := login(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := login(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
}
