// Package mfa is qlikgate's second factor: the per-provider policy (the
// `mfa:` block), TOTP (RFC 6238) codes, recovery codes, and the sealing of
// TOTP secrets at rest. It knows nothing about HTTP or providers: web asks
// it whether a login owes a factor and to check what the user typed, and an
// enrolment Store (mfa/store/...) keeps what must survive a restart.
package mfa
