package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/internal/keyerr"
	"github.com/qlikgate/qlikgate/internal/reqctx"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web"
)

// config is the whole configuration file: each block is owned and validated
// by the package that uses it; this file only composes them.
type config struct {
	// Server is how qlikgate listens and how browsers reach it.
	Server web.ServerConfig `yaml:"server"`
	// Session is the qlikgate sign-in that gives single sign-on to every
	// target: how long it lasts and where it is kept.
	Session web.SessionConfig `yaml:"session"`
	// Security is the brute-force throttling of password logins.
	Security web.SecurityConfig `yaml:"security"`
	// UI is what the pages look like and which language they speak.
	UI web.UIConfig `yaml:"ui"`
	// Log is what qlikgate writes to its log, and how.
	Log       logConfig       `yaml:"log"`
	Providers []providerEntry `yaml:"-"`
	Targets   []targetEntry   `yaml:"-"`
}

func defaultConfig() *config {
	w := web.DefaultConfig()
	return &config{Server: w.Server, Session: w.Session, Security: w.Security, UI: w.UI, Log: logConfig{Level: "info", Format: "text"}}
}

// loadConfig reads, decodes and validates a configuration file. The error
// lists every problem found, one per line, each naming its key.
func loadConfig(path string) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(data, filepath.Dir(abs), os.LookupEnv)
}

// parseConfig decodes a configuration; baseDir anchors relative file paths.
func parseConfig(data []byte, baseDir string, getenv func(string) (string, bool)) (*config, error) {
	root, err := parseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	d := newDecoder(baseDir)
	d.getenv = getenv
	c := defaultConfig()
	var provNode, targNode yaml.Node
	d.decode(root, "", c, map[string]any{"providers": &provNode, "targets": &targNode})
	c.Providers = providerFamily.decode(d, &provNode)
	c.Targets = targetFamily.decode(d, &targNode)
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// items returns the elements of a sequence node, reporting anything else.
func items(d *decoder, n *yaml.Node, path string) []*yaml.Node {
	switch {
	case n.Kind == 0:
		return nil
	case n.Kind != yaml.SequenceNode:
		d.errorf(path, "expected a list")
		return nil
	}
	return n.Content
}

// validate runs every block's own validation and the cross-block rules.
func (c *config) validate() error {
	var errs []error
	errs = append(errs, keyerr.Prefix("server.", c.Server.Validate()))
	errs = append(errs, keyerr.Prefix("session.", c.Session.Validate()))
	errs = append(errs, keyerr.Prefix("security.", c.Security.Validate()))
	errs = append(errs, keyerr.Prefix("ui.", c.UI.Validate()))
	errs = append(errs, keyerr.Prefix("log.", c.Log.validate()))
	errs = append(errs, providerFamily.validate(c.Providers)...)
	errs = append(errs, targetFamily.validate(c.Targets)...)
	var defaults []string
	for i, t := range c.Targets {
		if t.Common.Default {
			defaults = append(defaults, fmt.Sprintf("targets[%d]", i))
		}
	}
	switch {
	case len(c.Targets) > 1 && len(defaults) == 0:
		errs = append(errs, errors.New("targets: mark one target `default: true` (used by / and /login)"))
	case len(defaults) > 1:
		errs = append(errs, fmt.Errorf("targets: only one target may be the default, not %s", strings.Join(defaults, " and ")))
	}
	return errors.Join(errs...)
}

// defaultTarget is the id of the default target.
func (c *config) defaultTarget() string {
	for _, t := range c.Targets {
		if t.Common.Default {
			return t.Common.ID
		}
	}
	return c.Targets[0].Common.ID
}

// publicURL is server.public_url with a trailing slash.
func (c *config) publicURL() string {
	return strings.TrimSuffix(c.Server.PublicURL, "/") + "/"
}

// opened is a configuration with its providers and targets built.
type opened struct {
	providers []web.Provider
	targets   []qlik.Target
}

// targetKinds maps each target id to its kind, for metric labels.
func (c *config) targetKinds() map[string]string {
	m := map[string]string{}
	for _, t := range c.Targets {
		m[t.Common.ID] = t.Kind.Name
	}
	return m
}

// checks are the subjects /readyz runs in the background: the same
// diagnosers as `qlikgate check`, under the same labels.
func (o *opened) checks(c *config) []check.Subject {
	var out []check.Subject
	if c.Server.TLS.CertFile != "" {
		out = append(out, check.Subject{Label: "server.tls", Diagnoser: serverTLS{tls: c.Server.TLS, publicURL: c.Server.PublicURL}})
	}
	out = append(out, web.SessionStoreChecks(c.Session)...)
	for i, p := range o.providers {
		out = append(out, subject(providerFamily.label(i, c.Providers[i]), c.Providers[i].Kind.ConfigKey, p.Impl, nil))
	}
	for i, t := range o.targets {
		out = append(out, subject(targetFamily.label(i, c.Targets[i]), c.Targets[i].Kind.ConfigKey, t, nil))
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

// open builds every provider and target. Nothing listens yet, so a bad
// certificate or key stops the start before any request is served.
func (c *config) open(ctx context.Context, log *slog.Logger) (*opened, error) {
	impls, perr := providerFamily.openAll(ctx, c, c.Providers, log)
	o := &opened{}
	for i, impl := range impls {
		// Only when all opened do impls and c.Providers line up, and only
		// then is o used.
		o.providers = append(o.providers, web.Provider{Common: c.Providers[i].Common, Impl: impl})
	}
	targets, terr := targetFamily.openAll(ctx, c, c.Targets, log)
	o.targets = targets
	return o, errors.Join(perr, terr)
}

// logConfig is the `log:` block.
type logConfig struct {
	// Level is the least severity logged: debug, info, warn or error.
	// Secrets are never logged, not even at debug.
	Level string `yaml:"level"`
	// Format is text (key=value lines) or json (one object per line, for
	// log shippers).
	Format string `yaml:"format"`
}

func (c logConfig) validate() error {
	var errs []error
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		errs = append(errs, fmt.Errorf("level: %q is not one of debug, info, warn, error", c.Level))
	}
	if c.Format != "text" && c.Format != "json" {
		errs = append(errs, fmt.Errorf("format: %q is not text or json", c.Format))
	}
	return errors.Join(errs...)
}

// logger is the process's logger. Every line logged with a request's
// context carries its request_id and remote_ip (reqctx.Handler), whichever
// package writes it.
func (c logConfig) logger(w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(reqctx.NewHandler(h))
}
