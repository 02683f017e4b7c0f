package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/internal/config"
)

// validYAML is a minimal good configuration (as in internal/config's tests)
// whose Sense certificates do not exist where the tests point.
const validYAML = `
server:
  listen: "127.0.0.1:0"
  public_url: "https://auth.example.com/"
session:
  secret: "0123456789abcdef0123456789abcdef01"
providers:
  - id: local
    kind: static
    directory: CORP
    static:
      users:
        - username: alice
          password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
targets:
  - id: sense
    kind: sense-ticket
    sense:
      proxy_rest_uri: "https://sense.corp.local:4243/qps/hr/"
      client_cert_file: client.pem
      client_key_file: client_key.pem
      root_ca_file: root.pem
      hub_url: "https://sense.corp.local/hr/hub/"
`

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
