//go:build deps

package main

import (
	_ "github.com/Azure/go-ntlmssp"
	_ "github.com/chromedp/chromedp"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/go-jose/go-jose/v4/jwt"
	_ "github.com/go-ldap/ldap/v3"
	_ "github.com/kardianos/service"
	_ "github.com/nicksnyder/go-i18n/v2/i18n"
	_ "github.com/oauth2-proxy/mockoidc"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/zitadel/oidc/v3/example/server/exampleop"
	_ "github.com/zitadel/oidc/v3/example/server/storage"
	_ "golang.org/x/oauth2"
)
