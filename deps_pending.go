//go:build deps

package main

import (
	_ "github.com/Azure/go-ntlmssp"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/go-jose/go-jose/v4/jwt"
	_ "github.com/go-ldap/ldap/v3"
	_ "github.com/oauth2-proxy/mockoidc"
	_ "github.com/zitadel/oidc/v3/example/server/exampleop"
	_ "github.com/zitadel/oidc/v3/example/server/storage"
	_ "golang.org/x/oauth2"
)
