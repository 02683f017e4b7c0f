package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/qlikgate/qlikgate/internal/keyerr"
	"github.com/qlikgate/qlikgate/internal/reqctx"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web"
)

// Config is the whole configuration file: each block is owned and validated
// by the package that uses it; this file only composes them.
type Config struct {
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
	Log logConfig `yaml:"log"`
	// MFA is where second-factor enrolments are kept, for the providers
	// whose own mfa block enables one.
	MFA       mfa.Config      `yaml:"mfa"`
	Providers []providerEntry `yaml:"-"`
	Targets   []targetEntry   `yaml:"-"`
}

func defaultConfig() *Config {
	w := web.DefaultConfig()
	return &Config{Server: w.Server, Session: w.Session, Security: w.Security, UI: w.UI, Log: logConfig{Level: "info", Format: "text"}, MFA: mfa.DefaultConfig()}
}

// Load reads, decodes and validates a configuration file. The error
// lists every problem found, one per line, each naming its key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, filepath.Dir(abs), os.LookupEnv)
}

// Parse decodes and validates a configuration held in memory, as Load
// does a file: baseDir anchors relative file paths, and getenv resolves
// ${VAR} (os.LookupEnv in production).
func Parse(data []byte, baseDir string, getenv func(string) (string, bool)) (*Config, error) {
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
	// The default is relative and was not decoded, so not yet resolved;
	// resolving a path from the file again changes nothing. Under systemd's
	// StateDirectory= (and the container image, which sets the same
	// variable) the default goes to the state directory, since the
	// configuration's own directory is mounted read-only there.
	if dir, ok := getenv("STATE_DIRECTORY"); ok && dir != "" && c.Session.RevocationFile == web.DefaultRevocationFile {
		dir, _, _ = strings.Cut(dir, ":")
		c.Session.RevocationFile = filepath.Join(dir, web.DefaultRevocationFile)
	}
	c.Session.RevocationFile = d.resolve(c.Session.RevocationFile)
	if dir, ok := getenv("STATE_DIRECTORY"); ok && dir != "" && c.MFA.SQLiteFile == mfa.DefaultSQLiteFile {
		dir, _, _ = strings.Cut(dir, ":")
		c.MFA.SQLiteFile = filepath.Join(dir, mfa.DefaultSQLiteFile)
	}
	c.MFA.SQLiteFile = d.resolve(c.MFA.SQLiteFile)
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
func (c *Config) validate() error {
	var errs []error
	errs = append(errs, keyerr.Prefix("server.", c.Server.Validate()))
	errs = append(errs, keyerr.Prefix("session.", c.Session.Validate()))
	errs = append(errs, keyerr.Prefix("security.", c.Security.Validate()))
	errs = append(errs, keyerr.Prefix("ui.", c.UI.Validate()))
	errs = append(errs, keyerr.Prefix("log.", c.Log.validate()))
	errs = append(errs, keyerr.Prefix("mfa.", c.MFA.Validate(c.MFAUsed())))
	if c.PasskeysUsed() {
		if _, _, err := mfa.RelyingPartyOf(c.Server.PublicURL, c.MFA.RPID); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, providerFamily.validate(c.Providers)...)
	errs = append(errs, targetFamily.validate(c.Targets)...)
	errs = append(errs, c.validateAccessProviders()...)
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

// validateAccessProviders checks that every allowed_providers entry names
// a configured provider: a misspelt id would keep everyone out of the
// target, discovered only when users call.
func (c *Config) validateAccessProviders() []error {
	var ids []string
	for _, p := range c.Providers {
		ids = append(ids, p.Common.ID)
	}
	var errs []error
	for i, t := range c.Targets {
		for j, id := range t.Common.Access.AllowedProviders {
			if strings.TrimSpace(id) != "" && !slices.Contains(ids, id) {
				errs = append(errs, fmt.Errorf("targets[%d].access.allowed_providers[%d]: %q is not the id of a provider (they are: %s)", i, j, id, strings.Join(ids, ", ")))
			}
		}
	}
	return errs
}

// TargetAccess maps each target id to who may enter it.
func (c *Config) TargetAccess() map[string]qlik.Access {
	m := map[string]qlik.Access{}
	for _, t := range c.Targets {
		m[t.Common.ID] = t.Common.Access
	}
	return m
}

// MFAUsed reports whether any provider enables a second factor.
func (c *Config) MFAUsed() bool {
	for _, p := range c.Providers {
		if p.MFA.Enabled() {
			return true
		}
	}
	return false
}

// PasskeysUsed reports whether any provider offers passkeys (webauthn).
func (c *Config) PasskeysUsed() bool {
	for _, p := range c.Providers {
		if p.MFA.Offers(mfa.MethodWebAuthn) {
			return true
		}
	}
	return false
}

// TargetEmbedOrigins maps target ids to their embed_origins.
func (c *Config) TargetEmbedOrigins() map[string][]string {
	m := map[string][]string{}
	for _, t := range c.Targets {
		if len(t.Common.EmbedOrigins) > 0 {
			m[t.Common.ID] = t.Common.EmbedOrigins
		}
	}
	return m
}

// DefaultTarget is the id of the default target.
func (c *Config) DefaultTarget() string {
	for _, t := range c.Targets {
		if t.Common.Default {
			return t.Common.ID
		}
	}
	return c.Targets[0].Common.ID
}

// PublicURL is server.public_url with a trailing slash.
func (c *Config) PublicURL() string {
	return strings.TrimSuffix(c.Server.PublicURL, "/") + "/"
}

// TargetKinds maps each target id to its kind, for metric labels.
func (c *Config) TargetKinds() map[string]string {
	m := map[string]string{}
	for _, t := range c.Targets {
		m[t.Common.ID] = t.Kind.Name
	}
	return m
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

// Logger is the process's logger. Every line logged with a request's
// context carries its request_id and remote_ip (reqctx.Handler), whichever
// package writes it.
func (c logConfig) Logger(w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(reqctx.NewHandler(h))
}
