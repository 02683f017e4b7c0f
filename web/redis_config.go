package web

import (
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig is the `session.redis:` block: the Redis server that
// instances behind a load balancer share for sessions, login throttling
// and logout (session.store: redis).
type RedisConfig struct {
	// URL is redis://[user:password@]host[:port][/db] or rediss://… for
	// TLS, whose certificate is always verified. It may carry the
	// password, so it is a secret (url_file works too).
	URL string `yaml:"url" secret:"true"`
	// Password, when set, replaces the one in the URL.
	Password string `yaml:"password" secret:"true"`
	// KeyPrefix starts every key qlikgate writes, so that one Redis can
	// also serve other applications or other qlikgate deployments.
	// Instances that share sessions must use the same prefix.
	KeyPrefix string `yaml:"key_prefix"`
	// Timeout bounds each Redis call (connecting included).
	Timeout time.Duration `yaml:"timeout"`
	// CAFile is a PEM file of the CA that issued a rediss:// server's
	// certificate, when that is not a CA this machine trusts.
	CAFile string `yaml:"ca_file"`
}

// DefaultRedis returns the defaults of the session.redis block.
func DefaultRedis() RedisConfig {
	return RedisConfig{KeyPrefix: "qlikgate:", Timeout: 2 * time.Second}
}

var keyPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// Validate checks the block. Messages show the URL without its password.
func (c RedisConfig) Validate() error {
	var errs []error
	if err := c.validateURL(); err != nil {
		errs = append(errs, err)
	}
	if !keyPrefixPattern.MatchString(c.KeyPrefix) {
		errs = append(errs, fmt.Errorf("key_prefix: %q must be 1 to 64 letters, digits or _ . : -, like \"qlikgate:\"", c.KeyPrefix))
	}
	if c.Timeout < 100*time.Millisecond || c.Timeout > time.Minute {
		errs = append(errs, fmt.Errorf("timeout: %v must be between 100ms and 1m", c.Timeout))
	}
	if c.CAFile != "" {
		if u, err := url.Parse(c.URL); err == nil && u.Scheme != "rediss" {
			errs = append(errs, errors.New("ca_file: only used with TLS: write the url as rediss://…"))
		} else if _, err := readCAPool(c.CAFile); err != nil {
			errs = append(errs, fmt.Errorf("ca_file: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (c RedisConfig) validateURL() error {
	if c.URL == "" {
		return errors.New("url: required with store: redis, like redis://redis.corp.local:6379/0 or rediss://… for TLS")
	}
	// url.Parse's own error repeats the URL, password included: say less.
	u, err := url.Parse(c.URL)
	if err != nil {
		return errors.New("url: not a URL: write redis://[user:password@]host[:port][/db]")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fmt.Errorf("url: %q must start with redis:// or rediss:// (TLS)", shown(u))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url: %q names no host", shown(u))
	}
	if u.Query().Has("skip_verify") {
		return fmt.Errorf("url: %q: skip_verify would accept any server certificate; give the server's CA as ca_file instead", shown(u))
	}
	if _, err := redis.ParseURL(c.URL); err != nil {
		return fmt.Errorf("url: %q: %w", shown(u), err)
	}
	return nil
}

// redactedURL is the URL without its password, for logs and check names.
func (c RedisConfig) redactedURL() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "(invalid URL)"
	}
	return shown(u)
}

// shown is u without its password and its query's values (where nobody
// should, but somebody might, put a secret).
func shown(u *url.URL) string {
	v := *u
	if v.RawQuery != "" {
		var keys []string
		for _, k := range slices.Sorted(maps.Keys(v.Query())) {
			keys = append(keys, k+"=…")
		}
		v.RawQuery = strings.Join(keys, "&")
	}
	return v.Redacted()
}

// options turns the block into go-redis options. Timeouts given in the
// URL's query (dial_timeout…) win over Timeout.
func (c RedisConfig) options() (*redis.Options, error) {
	if err := c.validateURL(); err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if c.Password != "" {
		o.Password = c.Password
	}
	for _, d := range []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout} {
		if *d == 0 {
			*d = c.Timeout
		}
	}
	// Every call also carries the request's context, bounded by Timeout:
	// a Redis that hangs must not hold a login longer than that.
	o.ContextTimeoutEnabled = true
	// One dial per attempt and one retry (unless the URL says otherwise):
	// enough to get past a Redis restart, while a Redis that is down costs
	// a request milliseconds, not go-redis's default of twenty dials.
	o.DialerRetries = 1
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.ClientName == "" {
		o.ClientName = "qlikgate" // shows in CLIENT LIST, for the Redis operator
	}
	if o.TLSConfig != nil && c.CAFile != "" {
		pool, err := readCAPool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		o.TLSConfig.RootCAs = pool
	}
	return o, nil
}

func readCAPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
