// Package audit names the events qlikgate's log promises operators (the
// README's Security section, "Audit log"): alerting rules and dashboards
// match on these values, so they are spelled in one place and changing one
// is a breaking change.
package audit

// Key is the log attribute that names the event.
const Key = "event"

// Sign-in and sign-out.
const (
	LoginSucceeded = "login_succeeded"
	LoginFailed    = "login_failed" // with reason
	LoginThrottled = "login_throttled"
	Logout         = "logout"
	LogoutFailed   = "logout_failed" // the Qlik session could not be ended
	CSRFFailed     = "csrf_failed"
	// PasswordChanged and PasswordChangeFailed (with reason) are a change
	// of an expired or must-change password on the change page.
	PasswordChanged      = "password_changed"
	PasswordChangeFailed = "password_change_failed"
)

// The second factor (mfa). MFAFailed has a reason (wrong_code,
// replayed_code, wrong_recovery_code…); MFAReset has by (user or
// helpdesk).
const (
	MFAEnrolled  = "mfa_enrolled"
	MFAVerified  = "mfa_verified"
	MFAFailed    = "mfa_failed"
	MFAThrottled = "mfa_throttled"
	MFAReset     = "mfa_reset"
	MFAError     = "mfa_error" // the enrolment store failed
)

// Hand-off to Qlik and the entry from it.
const (
	Handoff       = "handoff"
	HandoffFailed = "handoff_failed"
	BadEntry      = "bad_entry" // Qlik's entry parameters were refused
	RedirectLoop  = "redirect_loop"
	// LoginRequired is an entry that allows no login page (OIDC's
	// prompt=none) answered with an error because the browser has no
	// usable sign-in; Reauthenticate is one whose sign-in is too old
	// (prompt=login, max_age), so the login page is shown to a signed-in
	// browser.
	LoginRequired  = "login_required"
	Reauthenticate = "reauthenticate"
	AccessDenied   = "access_denied" // a target's access rules keep the user out; with rule
	// TicketIssued, TicketFailed (with cause) and TicketThrottled are the
	// mashup ticket endpoint's (POST /t/{id}/ticket); the ticket itself
	// is never logged.
	TicketIssued    = "ticket_issued"
	TicketFailed    = "ticket_failed"
	TicketThrottled = "ticket_throttled"
	// AccessTokenIssued, AccessTokenFailed (with cause) and
	// AccessTokenThrottled are the qlik-embed token endpoint's (POST
	// /t/{id}/access-token), with cached=true when the tenant was not
	// asked; the token itself is never logged. EmbedUserCreated is a user
	// created in the tenant for its first embed.
	AccessTokenIssued    = "access_token_issued"
	AccessTokenFailed    = "access_token_failed"
	AccessTokenThrottled = "access_token_throttled"
	EmbedUserCreated     = "embed_user_created"
)

// The HTTP server and its stores.
const (
	HTTPRequest        = "http_request"
	Error              = "error" // a request failed in a way the user sees as an error page
	Panic              = "panic"
	ThrottleError      = "throttle_error"
	SessionSaveFailed  = "session_save_failed"
	SessionStoreFailed = "session_store_failed"
	RedisUnavailable   = "redis_unavailable"
	RedisClient        = "redis_client"
	TLSReload          = "tls_reload"
)

// The process.
const (
	Start        = "start"
	Stop         = "stop"
	Reload       = "reload"
	ReloadFailed = "reload_failed"
)
