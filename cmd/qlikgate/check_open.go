package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web"
)

// openForCheck opens each provider and target on its own, so that one
// that cannot open (a missing certificate) is reported among the results
// while the others are still checked. closeAll releases what opened.
func openForCheck(ctx context.Context, cfg *config.Config, log *slog.Logger) (subjects []check.Subject, closeAll func()) {
	var opened []any
	if cfg.Server.TLS.CertFile != "" || cfg.Server.TLS.KeyFile != "" {
		subjects = append(subjects, check.Subject{Label: "server.tls", Diagnoser: serverTLS{tls: cfg.Server.TLS, publicURL: cfg.Server.PublicURL}})
	}
	subjects = append(subjects, web.SessionStoreChecks(cfg.Session)...)
	for i, p := range cfg.Providers {
		label := fmt.Sprintf("providers[%d] %s (%s)", i, p.ID, p.Kind.Name)
		env := providers.Env{CallbackURL: cfg.PublicURL() + "callback/" + p.ID, Log: log.With("provider", p.ID)}
		impl, err := p.Kind.Open(ctx, p.Common, p.Config, env)
		subjects = append(subjects, subject(label, p.Kind.ConfigKey, impl, err))
		if err == nil {
			opened = append(opened, impl)
		}
	}
	for i, t := range cfg.Targets {
		label := fmt.Sprintf("targets[%d] %s (%s)", i, t.ID, t.Kind.Name)
		tg, err := t.Kind.Open(ctx, t.Common, t.Config, qlik.Env{PublicURL: cfg.PublicURL(), Log: log.With("target", t.ID)})
		subjects = append(subjects, subject(label, t.Kind.ConfigKey, tg, err))
		if err == nil {
			opened = append(opened, tg)
		}
	}
	return subjects, func() {
		for _, x := range opened {
			if c, ok := x.(io.Closer); ok {
				_ = c.Close()
			}
		}
	}
}

// subject wraps an opened provider or target, or the error that kept it
// from opening.
func subject(label, blockKey string, impl any, err error) check.Subject {
	if err != nil {
		return check.Subject{Label: label, Diagnoser: openFailure{blockKey: blockKey, err: err}}
	}
	if d, ok := impl.(check.Diagnoser); ok {
		return check.Subject{Label: label, Diagnoser: d}
	}
	return check.Subject{Label: label, Diagnoser: noChecks{}}
}

// openFailure reports why a provider or target could not open: each
// problem names its key, which becomes the result's name.
type openFailure struct {
	blockKey string
	err      error
}

func (f openFailure) Diagnose(context.Context) []check.Result {
	var out []check.Result
	for _, e := range config.Prefixed("", f.err) {
		key, detail, ok := strings.Cut(e.Error(), ": ")
		if !ok {
			key, detail = "open", e.Error()
		}
		out = append(out, check.Fail(f.blockKey+"."+key, detail, "correct "+f.blockKey+"."+key+"; nothing else of this entry can be checked until it opens"))
	}
	return out
}

// noChecks stands for a kind that offers no checks beyond opening.
type noChecks struct{}

func (noChecks) Diagnose(context.Context) []check.Result {
	return []check.Result{check.Pass("open", "opened; this kind has no further checks")}
}
