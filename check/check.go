// Package check is the vocabulary of self-checks: what `qlikgate check`
// prints and what a readiness probe can summarise.
//
// A provider or target that can test its configuration against the real
// world (certificates on disk, the directory, the issuer, the Qlik
// endpoints) implements Diagnoser. This package runs diagnosers and judges
// their results; it never prints, so the same checks can back a command
// line, a log line or an HTTP status.
package check

import "context"

// Result is the outcome of one check.
type Result struct {
	// Name is what was checked, short and stable: "client certificate
	// client.pem", "QPS https://node:4243/qps/hr/", "server ldaps://dc1:636".
	Name string
	// OK is false when the check failed: something users will run into.
	OK bool
	// Warn marks a passing check that needs attention (a certificate
	// expiring soon, a weak password hash); OK stays true.
	Warn bool
	// Detail says what was found, in a phrase an operator understands.
	Detail string
	// Fix says what to do; set for failures and warnings.
	Fix string
}

// Pass is a check that succeeded.
func Pass(name, detail string) Result { return Result{Name: name, OK: true, Detail: detail} }

// Fail is a check that failed, with what to do about it.
func Fail(name, detail, fix string) Result { return Result{Name: name, Detail: detail, Fix: fix} }

// Warning is a check that passed but needs attention.
func Warning(name, detail, fix string) Result {
	return Result{Name: name, OK: true, Warn: true, Detail: detail, Fix: fix}
}

// Diagnoser is implemented by opened providers and targets that can check
// themselves. Diagnose must honour ctx (each network call bounded by it
// and by the kind's own timeouts), must not change anything a user could
// notice, and reports every problem it finds rather than the first.
type Diagnoser interface {
	Diagnose(ctx context.Context) []Result
}
