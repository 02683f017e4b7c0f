// Package configtest holds configuration fixtures shared by the tests of
// the packages that load configurations.
package configtest

// MinimalYAML is a minimal good configuration (a static provider, a
// sense-ticket target); tests break one thing at a time. Its Sense
// certificate files are relative names that exist nowhere, so it parses
// and validates but does not open.
const MinimalYAML = `
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
