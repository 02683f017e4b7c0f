package web

import (
	"errors"
	"math"
	"time"

	"github.com/qlikgate/qlikgate/providers"
)

// Message ids (locales/*.yaml) of the texts the server picks for a page.
// They never say whether an account exists, and never carry a Go error.
const (
	msgBadCredentials   = "message.bad_credentials"
	msgUnavailable      = "message.unavailable"
	msgExpiredForm      = "message.expired_form"
	msgExpiredLogout    = "message.expired_logout"
	msgInternal         = "message.internal"
	msgBadEntry         = "message.bad_entry"
	msgQlikRefused      = "message.qlik_refused"
	msgQlikUnavailable  = "message.qlik_unavailable"
	msgSessionLimit     = "message.session_limit"
	msgLoop             = "message.loop"
	msgUnknownTarget    = "message.unknown_target"
	msgUnknownMethod    = "message.unknown_method"
	msgNoProvider       = "message.no_provider"
	msgThrottledSeconds = "message.throttled_seconds"
	msgThrottledMinutes = "message.throttled_minutes"
	msgFlowLost         = "message.flow_lost"
	msgRedirectFailed   = "message.redirect_failed"
	msgNotFound         = "message.not_found"
	msgMethodNotAllowed = "message.method_not_allowed"
	msgTooLarge         = "message.too_large"
	msgWindowOrigin     = "accesstoken.bad_origin"
	msgWindowThrottled  = "accesstoken.throttled"
	msgMFABadCode       = "mfa.bad_code"
	msgMFARemoved       = "mfa.removed"

	headingError       = "error.heading"
	headingUnavailable = "unavailable.heading"
)

// msg is a text for the user, translated when the page is rendered: a
// message id with its data, or a text someone else wrote that qlikgate has
// no translation for (raw), shown as it is.
type msg struct {
	id    string
	data  map[string]any
	count any // chooses the plural form; also {{.Count}} in the text
	raw   string
}

// say is the message with this id and no data.
func say(id string) msg { return msg{id: id} }

func (m msg) isZero() bool { return m.id == "" && m.raw == "" }

// throttledMessage tells the user how long to wait, in whole minutes or
// seconds, rounded up.
func throttledMessage(wait time.Duration) msg {
	if wait < time.Minute {
		return msg{id: msgThrottledSeconds, count: int(math.Ceil(wait.Seconds()))}
	}
	return msg{id: msgThrottledMinutes, count: int(math.Ceil(wait.Minutes()))}
}

// providerTexts are the message ids for the refusals that a provider
// explains to the user, by their machine-readable Failure.Reason.
// Providers write their UserText in English; the reason is the stable key
// to translate it by, and being typed, a misspelt one does not compile.
var providerTexts = map[providers.Reason]string{
	providers.ReasonAccessDenied:          "provider.access_denied",
	providers.ReasonDomainNotAllowed:      "provider.not_allowed",
	providers.ReasonGroupNotAllowed:       "provider.not_allowed",
	providers.ReasonEmailNotVerified:      "provider.email_not_verified",
	providers.ReasonLogonHoursRestricted:  "provider.account_restricted",
	providers.ReasonWorkstationRestricted: "provider.account_restricted",
	providers.ReasonAccountDisabled:       "provider.account_restricted",
	providers.ReasonAccountExpired:        "provider.account_restricted",
	providers.ReasonPasswordExpired:       "provider.password_expired",
	providers.ReasonPasswordMustChange:    "provider.password_expired",
}

// failureMessage is what the user is told about a refused login: the
// provider's own explanation when it gave one (translated when qlikgate
// knows the reason), else fallback.
func failureMessage(err error, fallback string) msg {
	var f *providers.Failure
	if !errors.As(err, &f) || f.UserText == "" {
		return say(fallback)
	}
	id := providerTexts[f.Reason]
	switch {
	case id == "":
		return msg{raw: f.UserText}
	case id == "provider.password_expired" && f.ChangeURL != "":
		return msg{id: "provider.password_expired_at", data: map[string]any{"URL": f.ChangeURL}}
	}
	return say(id)
}
