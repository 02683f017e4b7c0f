package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/qlikgate/qlikgate/internal/audit"
)

// shutdownGrace bounds how long in-flight requests may take after a stop.
const shutdownGrace = 10 * time.Second

// Serve runs an HTTP server for h on ln until ctx ends, then shuts it down
// gracefully. With tlsFiles set it serves HTTPS (TLS 1.2+, AEAD ciphers
// only) and picks up a renewed certificate without a restart.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, tlsFiles TLSConfig, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serve := func() error { return srv.Serve(ln) }
	if tlsFiles.CertFile != "" {
		r, err := newCertReloader(tlsFiles, log)
		if err != nil {
			return err
		}
		srv.TLSConfig = serverTLS(r.get)
		// Empty file names: the certificate comes from GetCertificate.
		serve = func() error { return srv.ServeTLS(ln, "", "") }
	}
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: serve: %w", err)
	}
	return nil
}

// serverTLS is the policy for serving HTTPS: TLS 1.2 or newer, and for
// TLS 1.2 only forward-secret AEAD suites (TLS 1.3's are all fine).
func serverTLS(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: get,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// certReloader serves the certificate in the configured files and reloads
// it when they change (a renewal by an ACME client or an admin), checking
// at most every recheck. A broken new pair is logged and the old one kept.
type certReloader struct {
	files   TLSConfig
	log     *slog.Logger
	recheck time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // modification times and sizes of both files
	checked time.Time
}

func newCertReloader(files TLSConfig, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{files: files, log: log, recheck: 10 * time.Second}
	stamp, err := r.fileStamp()
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(files.CertFile, files.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, time.Now()
	// Unix permissions only: on Windows, ACLs decide and qlikgate cannot judge them.
	if st, err := os.Stat(files.KeyFile); err == nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		log.Warn("server.tls.key_file can be read by other users; chmod 600 it", "file", files.KeyFile, "mode", st.Mode().Perm().String())
	}
	return r, nil
}

func (r *certReloader) fileStamp() (string, error) {
	var stamp string
	for _, f := range []string{r.files.CertFile, r.files.KeyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", st.ModTime().UnixNano(), st.Size())
	}
	return stamp, nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < r.recheck {
		return r.cert, nil
	}
	r.checked = time.Now()
	stamp, err := r.fileStamp()
	if err != nil || stamp == r.stamp {
		return r.cert, nil // a missing file mid-renewal: keep serving the old pair
	}
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		// The two files may be written one after the other: try again at
		// the next check, meanwhile the old pair still works.
		r.log.Warn("server.tls: the new certificate or key does not load; still serving the previous one", "cause", err.Error())
		return r.cert, nil
	}
	r.cert, r.stamp = &cert, stamp
	r.log.Info("server.tls: certificate reloaded", audit.Key, audit.TLSReload, "not_after", cert.Leaf.NotAfter)
	return r.cert, nil
}
