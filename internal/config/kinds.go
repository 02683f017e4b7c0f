package config

import (
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/oidc"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/cloud"
	"github.com/qlikgate/qlikgate/qlik/cloudoidc"
	"github.com/qlikgate/qlikgate/qlik/qlikview"
	"github.com/qlikgate/qlikgate/qlik/sense"
)

// The kinds this binary knows. Adding a kind is adding it here. They are
// part of the file's schema (which `kind:` values and blocks exist), so they
// live beside the decoder rather than in the command.
var (
	providerKinds = providers.Kinds{static.Kind, ldap.Kind, oidc.Kind}
	targetKinds   = qlik.Kinds{sense.TicketKind, sense.SessionKind, qlikview.Kind, cloud.Kind, cloudoidc.Kind}
)
