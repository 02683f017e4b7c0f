package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/internal/config/configtest"
)

// validYAML is a minimal good configuration; tests break one thing at a time.
const validYAML = configtest.MinimalYAML

func TestConfigOpenErrorsNameTheirKeys(t *testing.T) {
	c, err := config.Parse([]byte(validYAML), "/nonexistent-dir", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	_, err = openConfig(context.Background(), c, slog.New(slog.DiscardHandler))
	for _, w := range []string{
		"targets[0].sense.client_cert_file: open /nonexistent-dir/client.pem: no such file or directory",
		"targets[0].sense.client_key_file: open /nonexistent-dir/client_key.pem",
		"targets[0].sense.root_ca_file: open /nonexistent-dir/root.pem",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("open error does not contain %q:\n%v", w, err)
		}
	}
}
