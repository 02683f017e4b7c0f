package providers

// Reason is the machine-readable cause of a refused login (Failure.Reason):
// logged for the operator, and the key by which the web layer translates a
// provider's explanation for the user. Providers and the message catalog use
// these constants alike, so a misspelt reason does not compile instead of
// silently losing its translation.
type Reason string

// Reasons with no words of their own for the user, who gets the flow's
// generic message ("wrong username or password", "sign-in failed"): which
// of username or password was wrong is for the log alone, so that no answer
// reveals whether an account exists.
const (
	ReasonUnknownUser    Reason = "unknown_user"
	ReasonWrongPassword  Reason = "wrong_password"
	ReasonAmbiguousUser  Reason = "ambiguous_user"
	ReasonBindRefused    Reason = "bind_refused"
	ReasonEmptyPassword  Reason = "empty_password"
	ReasonInvalidName    Reason = "invalid_username"
	ReasonForeignDomain  Reason = "foreign_domain"
	ReasonInputTooLong   Reason = "input_too_long"
	ReasonAccountLocked  Reason = "account_locked"
	ReasonMissingUserID  Reason = "missing_user_id"
	ReasonInvalidUserID  Reason = "invalid_user_id"
	ReasonIssuerDown     Reason = "issuer_unavailable"
	ReasonIssuerError    Reason = "issuer_error"
	ReasonIssuerMismatch Reason = "issuer_mismatch"
	ReasonMissingCode    Reason = "missing_code"
	ReasonMissingFlow    Reason = "missing_flow"
	ReasonCodeExchange   Reason = "code_exchange_failed"
	ReasonMissingIDToken Reason = "missing_id_token"
	ReasonTokenExpired   Reason = "token_expired"
	ReasonTokenInvalid   Reason = "token_invalid"
	ReasonNonceMismatch  Reason = "nonce_mismatch"
	ReasonUserinfo       Reason = "userinfo_failed"
	ReasonUserinfoOther  Reason = "userinfo_subject_mismatch"
)

// Reasons the user is told about in words of their own (Failure.UserText,
// translated by the web layer's catalog). None of them may be given before
// the password was found right, or they would reveal the account.
const (
	ReasonAccessDenied          Reason = "access_denied"
	ReasonDomainNotAllowed      Reason = "domain_not_allowed"
	ReasonGroupNotAllowed       Reason = "group_not_allowed"
	ReasonEmailNotVerified      Reason = "email_not_verified"
	ReasonLogonHoursRestricted  Reason = "logon_hours_restricted"
	ReasonWorkstationRestricted Reason = "workstation_restricted"
	ReasonAccountDisabled       Reason = "account_disabled"
	ReasonAccountExpired        Reason = "account_expired"
	ReasonPasswordExpired       Reason = "password_expired"
	ReasonPasswordMustChange    Reason = "password_must_change"
)

// Reasons a new password is refused (PasswordChanger.ChangePassword), told
// to the user in words of their own. They only follow a current password
// the directory accepted.
const (
	ReasonPasswordTooShort   Reason = "password_too_short"
	ReasonPasswordNotComplex Reason = "password_not_complex"
	ReasonPasswordInHistory  Reason = "password_in_history"
	ReasonPasswordTooRecent  Reason = "password_too_recent"
	// ReasonPasswordPolicy is a refusal the directory does not explain
	// (Windows AD reports every policy violation alike).
	ReasonPasswordPolicy Reason = "password_policy"
)
