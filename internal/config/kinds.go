package config

import (
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/oidc"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloud"
	"github.com/qlikgate/qlikgate/qlik/qlikview"
	"github.com/qlikgate/qlikgate/qlik/sense"
)

// The kinds this binary knows. Adding a kind is adding it here.
var (
	providerKinds = providers.Kinds{static.Kind, ldap.Kind, oidc.Kind}
	targetKinds   = qlik.Kinds{sense.TicketKind, sense.SessionKind, qlikview.Kind, cloud.Kind}
)
