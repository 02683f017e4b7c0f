package demo

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/qlikgate/qlikgate/providers/static"
)

// demoUser is a user of the demo's static provider.
type demoUser struct {
	Name, Password, FullName, Email string
	Groups                          []string
	Hash                            string
}

// demoUsers are the users the demo offers; their passwords are their names.
func demoUsers() []demoUser {
	return []demoUser{
		{Name: "alice", Password: "alice", FullName: "Alice Example", Email: "alice@example.org", Groups: []string{"Sales", "EU"}},
		{Name: "bob", Password: "bob", FullName: "Bob Example", Email: "bob@example.org"},
	}
}

// The files the demo writes next to its config.yaml, besides the Sense
// site's QMC-style export.
const (
	demoCloudKeyFile  = "jwt_private.pem"
	demoOIDCKeyFile   = "oidc_signing.pem"
	demoOIDCClientID  = "qlik-cloud"
	demoTenantCAFile  = "tenant_root.pem"
	demoConfigComment = `# Written by "qlikgate demo"; deleted when it stops. Values are single-quoted
# YAML (no escapes); file names are relative to this file.`
)

var demoConfig = template.Must(template.New("config").Funcs(template.FuncMap{"base": filepath.Base}).Parse(demoConfigComment + `
server:
  listen: '{{.Listen}}'
  public_url: '{{.PublicURL}}'
{{- if .HTTPS}}
  tls:
    cert_file: '{{.TLSCert}}'
    key_file: '{{.TLSKey}}'
{{- end}}
session:
  secret: '{{.Secret}}'
ui:
  title: "qlikgate demo"
providers:
  - id: demo
    kind: static
    label: "Demo users"
    directory: CORP
    static:
      users:
{{- range .Users}}
        - username: '{{.Name}}'
          password_hash: '{{.Hash}}'
          name: '{{.FullName}}'
          email: '{{.Email}}'
          groups: [{{range $i, $g := .Groups}}{{if $i}}, {{end}}'{{$g}}'{{end}}]
{{- end}}
targets:
  - id: sense
    kind: sense-ticket
    default: true
    sense:
      proxy_rest_uri: '{{.Sense.ProxyRestURI}}'
      client_cert_file: '{{base .Files.ClientCert}}'
      client_key_file: '{{base .Files.ClientKey}}'
      root_ca_file: '{{base .Files.Root}}'
      hub_url: '{{.Sense.HubURL}}'
  - id: sense-session
    kind: sense-session
    sense:
      proxy_rest_uri: '{{.Session.ProxyRestURI}}'
      client_cert_file: '{{base .Files.ClientCert}}'
      client_key_file: '{{base .Files.ClientKey}}'
      root_ca_file: '{{base .Files.Root}}'
      hub_url: '{{.Session.HubURL}}'
      session_cookie_name: '{{.Session.CookieName}}'
  - id: qv
    kind: qlikview
    qlikview:
      webticket_url: '{{.QlikView.WebTicketURL}}'
      logout_url: '{{.QlikView.LogoutPageURL}}'
  - id: cloud
    kind: cloud-oidc
    cloud_oidc:
      tenant_url: '{{.Cloud.URL}}'
      client_id: '{{.OIDCClientID}}'
      client_secret: '{{.OIDCSecret}}'
      signing_key_files: ['{{.OIDCKeyFile}}']
      post_logout_redirect_uris: ['{{.Cloud.URL}}/']
      ca_file: '{{.TenantCAFile}}'
  - id: cloud-jwt
    kind: cloud
    cloud:
      tenant_url: '{{.Cloud.URL}}'
      web_integration_id: '{{.WebIntegrationID}}'
      issuer: '{{.Issuer}}'
      key_id: '{{.KeyID}}'
      private_key_file: '{{.CloudKeyFile}}'
      ca_file: '{{.TenantCAFile}}'
`))

// writeDemoConfig writes config.yaml and the files it names into dir and
// returns its path and the users with their password hashes. With https,
// qlikgate gets a self-signed certificate of its own.
func writeDemoConfig(dir string, sims *demoSims, listen, publicURL string, https bool) (string, []demoUser, error) {
	files, err := sims.sense.PKI().WriteFiles(dir)
	if err != nil {
		return "", nil, fmt.Errorf("writing the Sense certificates: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, demoCloudKeyFile), sims.cloudKey, 0o600); err != nil {
		return "", nil, fmt.Errorf("writing the Qlik Cloud signing key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, demoOIDCKeyFile), sims.oidcKey, 0o600); err != nil {
		return "", nil, fmt.Errorf("writing the Qlik Cloud OpenID signing key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, demoTenantCAFile), sims.cloud.PKI().RootPEM(), 0o600); err != nil {
		return "", nil, fmt.Errorf("writing the tenant's CA: %w", err)
	}
	if https {
		if err := writeDemoCert(dir); err != nil {
			return "", nil, err
		}
		// The tenant calls qlikgate's token endpoint and JWKS itself: it
		// must trust the demo's self-signed certificate.
		pem, err := os.ReadFile(filepath.Join(dir, demoTLSCertFile))
		if err != nil {
			return "", nil, err
		}
		rp := sims.oidcRP
		rp.RootCAs = x509.NewCertPool()
		rp.RootCAs.AppendCertsFromPEM(pem)
		if err := sims.cloud.SetOIDC(rp); err != nil {
			return "", nil, fmt.Errorf("configuring the Qlik Cloud tenant's identity provider: %w", err)
		}
	}
	users := demoUsers()
	for i := range users {
		if users[i].Hash, err = static.HashPassword(users[i].Password, static.DefaultArgon2); err != nil {
			return "", nil, fmt.Errorf("hashing %s's password: %w", users[i].Name, err)
		}
	}
	path := filepath.Join(dir, "config.yaml")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", nil, err
	}
	err = demoConfig.Execute(f, map[string]any{
		"Listen": listen, "PublicURL": publicURL, "Secret": rand.Text() + rand.Text(),
		"Users": users, "Files": files,
		"Sense": sims.sense, "Session": sims.session, "QlikView": sims.qlikview, "Cloud": sims.cloud,
		"WebIntegrationID": demoWebIntegID, "Issuer": demoCloudIssuer, "KeyID": demoCloudKeyID,
		"CloudKeyFile": demoCloudKeyFile, "TenantCAFile": demoTenantCAFile,
		"OIDCClientID": demoOIDCClientID, "OIDCSecret": sims.oidcSecret, "OIDCKeyFile": demoOIDCKeyFile,
		"HTTPS": https, "TLSCert": demoTLSCertFile, "TLSKey": demoTLSKeyFile,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return path, users, nil
}
