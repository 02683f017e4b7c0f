package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/check"
)

// readiness runs the providers' and targets' self-checks in the background
// and keeps the last outcome, so /readyz answers from memory: a probe
// every few seconds must not turn into LDAP binds and QPS calls.
type readiness struct {
	subjects []check.Subject
	interval time.Duration
	timeout  time.Duration
	metrics  *metrics

	mu      sync.Mutex
	ran     bool
	at      time.Time
	failing []failedCheck
}

type failedCheck struct {
	Subject string `json:"subject"`
	Check   string `json:"check"`
	Detail  string `json:"detail"`
}

// run checks once now and then every interval until ctx ends.
func (r *readiness) run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *readiness) once(ctx context.Context) {
	reports := check.Run(ctx, r.timeout, r.subjects)
	var failing []failedCheck
	for _, rep := range reports {
		n := 0
		for _, res := range rep.Results {
			if !res.OK {
				n++
				failing = append(failing, failedCheck{Subject: rep.Label, Check: res.Name, Detail: res.Detail})
			}
		}
		r.metrics.checks.WithLabelValues(rep.Label).Set(float64(n))
	}
	if ctx.Err() != nil {
		return // cut short by shutdown: not a verdict
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran, r.at, r.failing = true, time.Now(), failing
}

// handleReady answers 200 when the last run found nothing failing, 503
// while the first run is pending or when something failed, with the
// failures (names and details only: no secrets are in check results).
func (r *readiness) handle(c echo.Context) error {
	r.mu.Lock()
	ran, at, failing := r.ran, r.at, r.failing
	r.mu.Unlock()
	c.Response().Header().Set("Cache-Control", "no-store")
	switch {
	case !ran:
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "starting"})
	case len(failing) > 0:
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "failing", "checked_at": at.UTC(), "failing": failing})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checked_at": at.UTC()})
}
