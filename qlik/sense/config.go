// Package sense hands users to Qlik Sense Enterprise on Windows through the
// Qlik Proxy Service (QPS) REST API: the ticket flow (sense-ticket).
package sense

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// Config is the `sense:` block of a target.
type Config struct {
	// ProxyRestURI is the QPS REST base of the virtual proxy,
	// https://node:4243/qps/{prefix}/, on a site with one proxy node.
	// Required unless nodes.
	ProxyRestURI string `yaml:"proxy_rest_uri"`
	// Nodes are the QPS REST bases of every proxy node linked to the
	// virtual proxy, in order of preference: without a proxyRestUri from
	// Qlik, the first healthy one gets the call and the next takes over
	// when it fails. Instead of proxy_rest_uri.
	Nodes []string `yaml:"nodes"`
	// NodeBackoff is how long a node that failed is tried only after the
	// others.
	NodeBackoff time.Duration `yaml:"node_backoff"`
	// AllowedProxyRestURIs are other QPS bases (other nodes of the site) a
	// browser may arrive with. Anything else is refused: the module would
	// otherwise send its client certificate wherever a link points.
	AllowedProxyRestURIs []string `yaml:"allowed_proxy_rest_uris"`

	// ClientCertFile is client.pem from the QMC's certificate export (PEM
	// format): qlikgate's client certificate for the QPS. Required unless
	// pfx_file.
	ClientCertFile string `yaml:"client_cert_file"`
	// ClientKeyFile is client_key.pem from the same export. It can log
	// anyone into Qlik Sense: only qlikgate's account may read it.
	// Required unless pfx_file.
	ClientKeyFile string `yaml:"client_key_file"`
	// RootCAFile is root.pem (or the DER root.cer) from the export; the QPS
	// certificate is verified against it. Required.
	RootCAFile string `yaml:"root_ca_file"`
	// PFXFile is client.pfx from the Windows-format export, instead of
	// client_cert_file and client_key_file.
	PFXFile string `yaml:"pfx_file"`
	// PFXPassword is the password given at the export, if any. Only with
	// pfx_file.
	PFXPassword string `yaml:"pfx_password" secret:"true"`
	// ServerName is the name expected in the QPS server certificate when it
	// differs from the host in proxy_rest_uri (Qlik certificates often carry
	// only the short host name). Verification stays on.
	ServerName string `yaml:"server_name"`

	// HubURL is where users go when Qlik did not send a targetId (or it
	// expired). Required.
	HubURL string `yaml:"hub_url"`
	// AllowedRedirectHosts are further origins a TargetUri from the QPS
	// may point to, besides the hub's origin and the QPS hosts over https
	// on port 443 (for example a load balancer name of the proxy):
	// "host[:port]" with hub_url's scheme and its default port, or
	// "scheme://host[:port]".
	AllowedRedirectHosts []string `yaml:"allowed_redirect_hosts"`
	// GroupAttribute names the Qlik attribute each group is sent as.
	GroupAttribute string `yaml:"group_attribute"`
	// Timeout bounds every call to the QPS.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultConfig returns a configuration with the defaults filled in.
func DefaultConfig() *Config {
	return &Config{GroupAttribute: "Group", Timeout: 10 * time.Second, NodeBackoff: 30 * time.Second}
}

// Validate reports every problem with the block, without reading files.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case c.ProxyRestURI != "" && len(c.Nodes) > 0:
		add("nodes: set either proxy_rest_uri (one node) or nodes, not both")
	case c.ProxyRestURI == "" && len(c.Nodes) == 0:
		add("proxy_rest_uri: required (the QPS REST address, like https://sense.corp.local:4243/qps/hr/), or list every proxy node in nodes")
	case c.ProxyRestURI != "":
		if _, err := canonicalQPS(c.ProxyRestURI); err != nil {
			add("proxy_rest_uri: %v", err)
		}
	}
	seen := map[string]int{}
	for i, u := range c.Nodes {
		canon, err := canonicalQPS(u)
		if err != nil {
			add("nodes[%d]: %v", i, err)
			continue
		}
		if j, dup := seen[canon]; dup {
			add("nodes[%d]: %q is the same node as nodes[%d]", i, u, j)
		}
		seen[canon] = i
	}
	if c.NodeBackoff <= 0 {
		add("node_backoff: must be positive")
	}
	for i, u := range c.AllowedProxyRestURIs {
		if _, err := canonicalQPS(u); err != nil {
			add("allowed_proxy_rest_uris[%d]: %v", i, err)
		}
	}
	switch {
	case c.PFXFile != "" && (c.ClientCertFile != "" || c.ClientKeyFile != ""):
		add("pfx_file: set either pfx_file or client_cert_file/client_key_file, not both")
	case c.PFXFile == "":
		if c.ClientCertFile == "" {
			add("client_cert_file: required (client.pem exported from the QMC), or set pfx_file")
		}
		if c.ClientKeyFile == "" {
			add("client_key_file: required (client_key.pem exported from the QMC), or set pfx_file")
		}
		if c.PFXPassword != "" {
			add("pfx_password: set only with pfx_file")
		}
	}
	if c.RootCAFile == "" {
		add("root_ca_file: required (root.pem exported from the QMC): the QPS certificate is verified against it")
	}
	if c.HubURL == "" {
		add("hub_url: required (where users land when Qlik sent no targetId, like https://sense.corp.local/hr/hub/)")
	} else if err := checkAbsoluteURL(c.HubURL); err != nil {
		add("hub_url: %v", err)
	}
	for i, h := range c.AllowedRedirectHosts {
		if _, err := qlik.ParseOrigin(h, "https"); err != nil {
			add("allowed_redirect_hosts[%d]: %v", i, err)
		}
	}
	if strings.TrimSpace(c.GroupAttribute) == "" {
		add("group_attribute: must not be empty")
	}
	if c.Timeout <= 0 {
		add("timeout: must be positive")
	}
	return errors.Join(errs...)
}

// nodeList is the configured proxy nodes: nodes, or proxy_rest_uri as a
// one-node list.
func (c *Config) nodeList() []string {
	if len(c.Nodes) > 0 {
		return c.Nodes
	}
	return []string{c.ProxyRestURI}
}

// canonicalQPS checks a QPS REST base and returns it in the form used for
// comparisons: lower-case scheme and host, explicit port, trailing slash.
func canonicalQPS(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("%q must use https: the QPS API is only served over mutual TLS", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q must be https://host:port/qps/{prefix}/ without user, query or fragment", raw)
	}
	path := u.EscapedPath()
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	segs := strings.Split(strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/"), "/")
	ok := (len(segs) == 1 && segs[0] == "qps") || (len(segs) == 2 && segs[0] == "qps" && validPrefix(segs[1]))
	if !ok {
		return "", fmt.Errorf("%q: the path must be /qps/ or /qps/{prefix}/", raw)
	}
	origin, err := qlik.CanonicalOrigin(u)
	if err != nil {
		return "", fmt.Errorf("%q: %v", raw, err)
	}
	return origin + path, nil
}

func validPrefix(p string) bool {
	if p == "" {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

func checkAbsoluteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q must be an absolute http(s) URL without user info", raw)
	}
	if _, err := qlik.CanonicalOrigin(u); err != nil {
		return fmt.Errorf("%q must be an absolute http(s) URL without user info: %v", raw, err)
	}
	return nil
}

// urlHostPort is the URL's host:port, with the scheme's default port.
func urlHostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
