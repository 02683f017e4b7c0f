package demo

import (
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/config"
)

// freeAddrs puts every listener of the demo on a free port.
func freeAddrs() Addrs {
	const free = "127.0.0.1:0"
	return Addrs{Module: free, Index: free, Hub: free, QPS: free, SessionHub: free, SessionQPS: free, QlikView: free, Cloud: free}
}

// TestStartWritesAConfigurationTheLoaderAccepts: the site's file goes
// through the real loader and names every simulated product, and Close
// leaves nothing behind.
func TestStartWritesAConfigurationTheLoaderAccepts(t *testing.T) {
	tests := []struct {
		name  string
		https bool
	}{
		{"http", false},
		{"https", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site, err := Start(Options{Addrs: freeAddrs(), HTTPS: tt.https}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			t.Cleanup(func() {
				if !closed {
					site.Close()
				}
			})
			cfg, err := config.Load(site.ConfigPath)
			if err != nil {
				t.Fatalf("the demo's configuration does not load:\n%v", err)
			}
			if got, want := cfg.Server.Listen, site.Listener.Addr().String(); got != want {
				t.Errorf("server.listen = %q, want the site's listener %q", got, want)
			}
			if got := cfg.Server.TLS.CertFile != ""; got != tt.https {
				t.Errorf("server.tls.cert_file set = %v, want %v", got, tt.https)
			}
			var ids []string
			for _, tg := range cfg.Targets {
				ids = append(ids, tg.Common.ID+"="+tg.Kind.Name)
			}
			if got, want := strings.Join(ids, " "), "sense=sense-ticket sense-session=sense-session qv=qlikview cloud=cloud-oidc cloud-jwt=cloud"; got != want {
				t.Errorf("targets %s, want %s", got, want)
			}
			if cfg.DefaultTarget() != "sense" {
				t.Errorf("default target %q, want sense", cfg.DefaultTarget())
			}

			dir, addr := filepath.Dir(site.ConfigPath), site.Listener.Addr().String()
			site.Close()
			closed = true
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s is still there after Close (%v)", dir, err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("qlikgate's address is still taken after Close: %v", err)
			}
			_ = ln.Close()
		})
	}
}

// TestAnnounce: the index page is served only once announced, and the
// banner links it and qlikgate.
func TestAnnounce(t *testing.T) {
	site, err := Start(Options{Addrs: freeAddrs()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	var banner strings.Builder
	site.Announce(&banner, slog.New(slog.DiscardHandler))
	for _, want := range []string{"Demo index (start here):    " + site.info.IndexURL, "qlikgate login page:        " + site.info.ModuleURL, "alice  password alice"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner does not contain %q:\n%s", want, banner.String())
		}
	}
	res, err := http.Get(site.info.IndexURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("index page: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}
