package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/qlikgate/qlikgate/providers/static"
)

// argon2Rate is how many argon2id verifications per second this machine
// does at the static provider's cost: the ceiling of static logins per
// second, measured before the flows so nothing else competes.
type argon2Rate struct {
	Params       string  `json:"params"`
	Threads      int     `json:"threads"`
	PerSecond    float64 `json:"hashes_per_s"`          // all cores
	PerSecondOne float64 `json:"hashes_per_s_one_core"` // one goroutine
}

// measureArgon2 hashes with static.DefaultArgon2 for about d on one core,
// then on every core.
func measureArgon2(ctx context.Context, d time.Duration) (*argon2Rate, error) {
	p := static.DefaultArgon2
	r := &argon2Rate{
		Params:  fmt.Sprintf("m=%d KiB, t=%d, p=%d (static.DefaultArgon2)", p.Memory, p.Time, p.Threads),
		Threads: runtime.GOMAXPROCS(0),
	}
	r.PerSecondOne = hashRate(ctx, p, 1, d/2)
	r.PerSecond = hashRate(ctx, p, r.Threads, d/2)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func hashRate(ctx context.Context, p static.Argon2Params, workers int, d time.Duration) float64 {
	salt := make([]byte, p.SaltLen)
	var n atomic.Int64
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				argon2.IDKey([]byte(benchPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
