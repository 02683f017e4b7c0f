// Package kind is the one seam both plug-in families of qlikgate share:
// provider kinds (ldap, oidc, static) and target kinds (sense-ticket,
// sense-session, qlikview, cloud). A kind is a value listing its name, the
// key of its configuration block, a constructor of that block with its
// defaults, and how to open an instance from it; the binary lists the kinds
// it knows, and nothing switches on kind names.
//
// Why a generic Kind built by New, rather than Dex's shape where each
// kind's Config has an Open method: a Config here is plain, documented
// data (internal/configdoc reads its source to write the configuration
// reference, and tests build and compare it), and the two Sense kinds share
// most of one config struct, so an Open method promoted from the embedded
// struct would silently open the wrong kind for the one that forgot to
// override it. New keeps each kind's Open an ordinary, typed function that
// tests call directly, and does the one conversion from the family's Config
// interface to the kind's concrete block here, once, with an error instead
// of a panic.
package kind

import (
	"context"
	"errors"
	"fmt"
	"regexp"
)

// Config is a kind's configuration block.
type Config interface {
	// Validate reports every problem, each error starting with the key it
	// concerns (relative to the block), joined with errors.Join.
	Validate() error
}

// Kind describes one kind of a family. Common is the family's common keys,
// Env what an instance learns about the running module, T what it opens.
type Kind[Common, Env, T any] struct {
	// Name is the value of `kind:` in the configuration.
	Name string
	// ConfigKey is the key of the kind's block (for example "ldap").
	ConfigKey string
	// NewConfig returns a pointer to a configuration with its defaults.
	NewConfig func() Config
	// Open builds an instance from a block NewConfig made. It loads files
	// and builds clients but must not need the network to succeed: an
	// unreachable server must not stop the start.
	Open func(ctx context.Context, c Common, cfg Config, env Env) (T, error)
}

// New makes a Kind from a kind's own typed constructor and opener. open
// may return the kind's concrete type R; it must be a T (families check
// this at compile time with their own constraint, see providers.NewKind).
func New[Common, Env, T any, C Config, R any](name, configKey string, newConfig func() C, open func(context.Context, Common, C, Env) (R, error)) Kind[Common, Env, T] {
	return Kind[Common, Env, T]{
		Name:      name,
		ConfigKey: configKey,
		NewConfig: func() Config { return newConfig() },
		Open: func(ctx context.Context, c Common, cfg Config, env Env) (T, error) {
			var zero T
			typed, ok := cfg.(C)
			if !ok {
				return zero, fmt.Errorf("kind %s: configuration is a %T, not the %T its NewConfig makes", name, cfg, *new(C))
			}
			r, err := open(ctx, c, typed, env)
			if err != nil {
				// Not r: a nil pointer in an interface would not be nil.
				return zero, err
			}
			t, ok := any(r).(T)
			if !ok {
				return zero, fmt.Errorf("kind %s: opens a %T, which is not a %T", name, r, *new(T))
			}
			return t, nil
		},
	}
}

// Kinds is a family's set of kinds, looked up by name.
type Kinds[Common, Env, T any] []Kind[Common, Env, T]

// Lookup returns the kind called name.
func (ks Kinds[Common, Env, T]) Lookup(name string) (Kind[Common, Env, T], bool) {
	for _, k := range ks {
		if k.Name == name {
			return k, true
		}
	}
	return Kind[Common, Env, T]{}, false
}

// Names lists the kinds' names, for error messages.
func (ks Kinds[Common, Env, T]) Names() []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Name
	}
	return out
}

// idPattern is what an id may be in both families: ids appear in URL paths
// (/login/{id}, /t/{id}/), log lines and metric labels unescaped.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateCommon checks the two keys every entry of a family has, id and
// kind; where says where the id appears, for the error text.
func ValidateCommon(id, kindName, where string) []error {
	var errs []error
	if id == "" {
		errs = append(errs, errors.New("id: required"))
	} else if !idPattern.MatchString(id) {
		errs = append(errs, fmt.Errorf("id: %q is not allowed: use lower-case letters, digits, '-' and '_' (%s)", id, where))
	}
	if kindName == "" {
		errs = append(errs, errors.New("kind: required"))
	}
	return errs
}
