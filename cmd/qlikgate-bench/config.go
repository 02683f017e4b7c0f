package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// Provider ids and Qlik user directories of the generated configuration.
const (
	staticProviderID = "local"
	staticDirectory  = "LOCAL"
	ldapProviderID   = "corp"
	ldapDirectory    = "CORP"
	senseTargetID    = "sense"
)

// moduleConfig is what the generated config.yaml says.
type moduleConfig struct {
	Listen, PublicURL, Secret, LogLevel string
	Users                               []account
	PasswordHash                        string // argon2id at static.DefaultArgon2, shared by all users
	LDAP                                *ldapSettings
	Sense                               senseSettings
	// ExtraProviders and Extra are YAML appended to the providers list
	// and to the top level (the totp flow's provider and mfa block).
	ExtraProviders, Extra string
}

type ldapSettings struct {
	URL, CAFile, BindDN, BindPassword, UserBase, GroupBase string
}

type senseSettings struct {
	ProxyRestURI, HubURL, ClientCert, ClientKey, Root string
}

// The security block is left out on purpose: the defaults are what a
// deployment runs with. The throttle only counts failed logins and the
// failure floor only delays failures, and the tool drives successful logins
// of distinct users, so neither engages.
var moduleConfigTemplate = template.Must(template.New("config").Parse(`# Written by qlikgate-bench; deleted when it stops. Values are single-quoted YAML.
server:
  listen: '{{.Listen}}'
  public_url: '{{.PublicURL}}'
session:
  secret: '{{.Secret}}'
log:
  level: '{{.LogLevel}}'
  format: text
providers:
  - id: ` + staticProviderID + `
    kind: static
    label: 'Local account'
    directory: ` + staticDirectory + `
    static:
      users:
{{- range .Users}}
        - username: '{{.Name}}'
          password_hash: '{{$.PasswordHash}}'
          name: '{{.FullName}}'
          email: '{{.Name}}@bench.invalid'
          groups: ['bench']
{{- end}}
{{- with .LDAP}}
  - id: ` + ldapProviderID + `
    kind: ldap
    label: 'Company account'
    directory: ` + ldapDirectory + `
    ldap:
      urls: ['{{.URL}}']
      ca_file: '{{.CAFile}}'
      bind_dn: '{{.BindDN}}'
      bind_password: '{{.BindPassword}}'
      user_base: '{{.UserBase}}'
      group_base: '{{.GroupBase}}'
{{- end}}
{{.ExtraProviders -}}
targets:
  - id: ` + senseTargetID + `
    kind: sense-ticket
    default: true
    sense:
      proxy_rest_uri: '{{.Sense.ProxyRestURI}}'
      client_cert_file: '{{.Sense.ClientCert}}'
      client_key_file: '{{.Sense.ClientKey}}'
      root_ca_file: '{{.Sense.Root}}'
      hub_url: '{{.Sense.HubURL}}'
`))

// templateUser exposes an account's fields to the template.
type templateUser struct{ Name, FullName string }

// writeModuleConfig writes config.yaml into dir and returns its path.
func writeModuleConfig(dir string, c moduleConfig) (string, error) {
	if c.Secret == "" {
		c.Secret = rand.Text() + rand.Text()
	}
	users := make([]templateUser, len(c.Users))
	for i, u := range c.Users {
		users[i] = templateUser{Name: u.name, FullName: u.fullName}
	}
	path := filepath.Join(dir, "config.yaml")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing qlikgate's configuration: %w", err)
	}
	err = moduleConfigTemplate.Execute(f, struct {
		moduleConfig
		Users []templateUser
	}{c, users})
	if err == nil {
		var oidc string
		if oidc, err = oidcTargetConfig(dir); err == nil {
			_, err = f.WriteString(oidc + c.Extra)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
