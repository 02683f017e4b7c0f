package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/qlikgate/qlikgate/internal/keyerr"
	"github.com/qlikgate/qlikgate/internal/kind"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// listEntry is one element of `providers:` or `targets:`: its common keys, its
// kind, and the kind's block (nil when the kind is unknown).
type listEntry[C, E, T any] struct {
	Common C
	Kind   kind.Kind[C, E, T]
	Config kind.Config
	// MFA is a provider's `mfa:` block (targets have none): web's policy,
	// not the provider's business, so it sits beside the kind's block.
	MFA mfa.Policy
}

type (
	providerEntry = listEntry[providers.Common, providers.Env, providers.Provider]
	targetEntry   = listEntry[qlik.Common, qlik.Env, qlik.Target]
)

// family is what decoding, validating and opening need to know about the
// providers or the targets, so each of those is written once for both.
type family[C kind.Config, E, T any] struct {
	key   string // "providers"
	none  string // the error when the list is empty
	kinds kind.Kinds[C, E, T]
	id    func(C) string
	env   func(c *Config, common C, log *slog.Logger) E
	// mfa says entries may have an `mfa:` block.
	mfa bool
}

var providerFamily = family[providers.Common, providers.Env, providers.Provider]{
	key:   "providers",
	mfa:   true,
	none:  "at least one provider is required",
	kinds: providerKinds,
	id:    func(c providers.Common) string { return c.ID },
	env: func(c *Config, p providers.Common, log *slog.Logger) providers.Env {
		return providers.Env{CallbackURL: c.PublicURL() + "callback/" + p.ID, Log: log.With("provider", p.ID)}
	},
}

var targetFamily = family[qlik.Common, qlik.Env, qlik.Target]{
	key:   "targets",
	none:  "at least one Qlik target is required",
	kinds: targetKinds,
	id:    func(c qlik.Common) string { return c.ID },
	env: func(c *Config, t qlik.Common, log *slog.Logger) qlik.Env {
		env := qlik.Env{PublicURL: c.PublicURL(), Log: log.With("target", t.ID), Shared: qlik.Shared{Secret: c.Session.Secret}}
		if c.Session.Store == "redis" {
			// Validated with the session block; a client is only options.
			if o, err := c.Session.Redis.ClientOptions(); err == nil {
				env.Shared.Redis, env.Shared.KeyPrefix = o, c.Session.Redis.KeyPrefix
			}
		}
		return env
	},
}

// decode reads the list: each entry's `kind:` chooses which block it may
// have, and its common keys are decoded beside it.
func (f family[C, E, T]) decode(d *decoder, n *yaml.Node) []listEntry[C, E, T] {
	var out []listEntry[C, E, T]
	for i, item := range items(d, n, f.key) {
		path := fmt.Sprintf("%s[%d]", f.key, i)
		e := listEntry[C, E, T]{MFA: mfa.DefaultPolicy()}
		kindName, _ := scalarAt(item, "kind")
		k, ok := f.kinds.Lookup(kindName)
		extra := map[string]any{}
		if f.mfa {
			extra["mfa"] = &e.MFA
		}
		if ok {
			e.Kind, e.Config = k, k.NewConfig()
			extra[k.ConfigKey] = e.Config
		} else {
			if kindName != "" {
				d.errorf(path+".kind", "unknown kind %q (known: %s)", kindName, strings.Join(f.kinds.Names(), ", "))
			}
			// Accept every kind's block so one typo gives one error.
			for _, k := range f.kinds {
				extra[k.ConfigKey] = k.NewConfig()
			}
		}
		d.decode(item, path, &e.Common, extra)
		out = append(out, e)
	}
	return out
}

// validate checks each entry's common keys and block, and that ids are
// unique, with every error naming its key.
func (f family[C, E, T]) validate(es []listEntry[C, E, T]) []error {
	if len(es) == 0 {
		return []error{fmt.Errorf("%s: %s", f.key, f.none)}
	}
	var errs []error
	seen := map[string]int{}
	for i, e := range es {
		path := fmt.Sprintf("%s[%d].", f.key, i)
		id := f.id(e.Common)
		errs = append(errs, keyerr.Prefix(path, e.Common.Validate()))
		if j, dup := seen[id]; dup && id != "" {
			errs = append(errs, fmt.Errorf("%sid: %q is already used by %s[%d]", path, id, f.key, j))
		}
		seen[id] = i
		if e.Config != nil {
			errs = append(errs, keyerr.Prefix(path+e.Kind.ConfigKey+".", e.Config.Validate()))
		}
		if f.mfa {
			errs = append(errs, keyerr.Prefix(path+"mfa.", e.MFA.Validate()))
		}
	}
	return errs
}

// label names entry i in check results and /readyz.
func (f family[C, E, T]) label(i int, e listEntry[C, E, T]) string {
	return fmt.Sprintf("%s[%d] %s (%s)", f.key, i, f.id(e.Common), e.Kind.Name)
}

// open builds one entry; the error's keys are relative to its block.
func (f family[C, E, T]) open(ctx context.Context, c *Config, e listEntry[C, E, T], log *slog.Logger) (T, error) {
	return e.Kind.Open(ctx, e.Common, e.Config, f.env(c, e.Common, log))
}

// openAll builds every entry, reporting all that fail.
func (f family[C, E, T]) openAll(ctx context.Context, c *Config, es []listEntry[C, E, T], log *slog.Logger) ([]T, error) {
	var (
		out  []T
		errs []error
	)
	for i, e := range es {
		impl, err := f.open(ctx, c, e, log)
		if err != nil {
			errs = append(errs, keyerr.Prefix(fmt.Sprintf("%s[%d].%s.", f.key, i, e.Kind.ConfigKey), err))
			continue
		}
		out = append(out, impl)
	}
	return out, errors.Join(errs...)
}

// Open builds every provider and target, reporting every one that fails,
// each error naming its key. Nothing listens yet, so a bad certificate or
// key stops the start before any request is served.
func (c *Config) Open(ctx context.Context, log *slog.Logger) ([]Provider, []qlik.Target, error) {
	impls, perr := providerFamily.openAll(ctx, c, c.Providers, log)
	var provs []Provider
	if perr == nil { // only then do impls and c.Providers line up
		for i, impl := range impls {
			provs = append(provs, Provider{Common: c.Providers[i].Common, Impl: impl, MFA: c.Providers[i].MFA})
		}
	}
	targets, terr := targetFamily.openAll(ctx, c, c.Targets, log)
	return provs, targets, errors.Join(perr, terr)
}

// Provider is an opened provider with its common keys.
type Provider struct {
	Common providers.Common
	Impl   providers.Provider
	// MFA is the entry's second-factor policy.
	MFA mfa.Policy
}

// Opening is one provider or target opened on its own, for `qlikgate
// check`: Label names it ("providers[0] corp (ldap)"), BlockKey is its
// kind's block, and Err, when set, is why it did not open (Impl is then
// nil).
type Opening struct {
	Label, BlockKey string
	Impl            any
	Err             error
}

// OpenEach opens every provider and target on its own, so that one that
// fails does not hide the others.
func (c *Config) OpenEach(ctx context.Context, log *slog.Logger) []Opening {
	return append(openEach(ctx, c, providerFamily, c.Providers, log), openEach(ctx, c, targetFamily, c.Targets, log)...)
}

func openEach[C kind.Config, E, T any](ctx context.Context, c *Config, f family[C, E, T], es []listEntry[C, E, T], log *slog.Logger) []Opening {
	var out []Opening
	for i, e := range es {
		impl, err := f.open(ctx, c, e, log)
		op := Opening{Label: f.label(i, e), BlockKey: e.Kind.ConfigKey, Err: err}
		if err == nil {
			op.Impl = impl
		}
		out = append(out, op)
	}
	return out
}

// ProviderLabel names provider i in check results and /readyz.
func (c *Config) ProviderLabel(i int) string { return providerFamily.label(i, c.Providers[i]) }

// TargetLabel names target i in check results and /readyz.
func (c *Config) TargetLabel(i int) string { return targetFamily.label(i, c.Targets[i]) }
