package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web"
)

// opened is a configuration with its providers and targets built.
type opened struct {
	providers []web.Provider
	targets   []qlik.Target
}

// checks are the subjects /readyz runs in the background: the same
// diagnosers as `qlikgate check`, under the same labels.
func (o *opened) checks(c *config.Config) []check.Subject {
	var out []check.Subject
	if c.Server.TLS.CertFile != "" {
		out = append(out, check.Subject{Label: "server.tls", Diagnoser: serverTLS{tls: c.Server.TLS, publicURL: c.Server.PublicURL}})
	}
	out = append(out, web.SessionStoreChecks(c.Session)...)
	for i, p := range o.providers {
		out = append(out, subject(c.ProviderLabel(i), c.Providers[i].Kind.ConfigKey, p.Impl, nil))
	}
	for i, t := range o.targets {
		out = append(out, subject(c.TargetLabel(i), c.Targets[i].Kind.ConfigKey, t, nil))
	}
	return out
}

// close releases what providers and targets hold (io.Closer).
func (o *opened) close(log *slog.Logger) {
	var all []any
	for _, p := range o.providers {
		all = append(all, p.Impl)
	}
	for _, t := range o.targets {
		all = append(all, t)
	}
	for _, x := range all {
		if c, ok := x.(io.Closer); ok {
			if err := c.Close(); err != nil {
				log.Warn("closing failed", "cause", err.Error())
			}
		}
	}
}

// openConfig builds every provider and target. Nothing listens yet, so a bad
// certificate or key stops the start before any request is served.
func openConfig(ctx context.Context, c *config.Config, log *slog.Logger) (*opened, error) {
	provs, targets, err := c.Open(ctx, log)
	o := &opened{targets: targets}
	for _, p := range provs {
		o.providers = append(o.providers, web.Provider{Common: p.Common, Impl: p.Impl, MFA: p.MFA})
	}
	return o, err
}
