package main

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/internal/keyerr"
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
	if cfg.MFAUsed() {
		subjects = append(subjects, check.Subject{Label: "mfa", Diagnoser: mfaStoreCheck{cfg: cfg.MFA}})
	}
	for _, op := range cfg.OpenEach(ctx, log) {
		subjects = append(subjects, subject(op.Label, op.BlockKey, op.Impl, op.Err))
		if op.Err == nil {
			opened = append(opened, op.Impl)
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
	for _, e := range keyerr.List(f.err) {
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
