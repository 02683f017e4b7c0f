// Command qlikgate-bench measures how many Qlik logins per second one
// qlikgate instance carries.
//
// It starts a simulated Qlik Sense site (qliksim) and, when slapd is
// installed, a throwaway OpenLDAP directory; builds the real qlikgate binary
// and runs `qlikgate serve` on a generated configuration; then drives
// virtual users through whole flows over real HTTP (cookie jar, CSRF token,
// redirects, the ticket consumed at the hub):
//
//	static  full login with the static provider (argon2id)
//	ldap    full login with the LDAP provider (LDAPS, pooled)
//	sso     single sign-on hand-off for a browser that already has a qlikgate session
//
// For each flow it reports throughput, p50/p90/p99 latency, errors, the peak
// RSS of the qlikgate process and the TLS handshakes to the QPS per 1,000
// tickets. A comparison run then measures the same flows against a
// deliberately naive hand-off (a new TLS connection to the QPS and a new LDAP
// connection per login) and reports the ratio.
//
// Usage:
//
//	go run ./cmd/qlikgate-bench -duration 10s -json bench.json
//	go run ./cmd/qlikgate-bench -url http://127.0.0.1:8080/ -user alice -password alice
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// toolGOGC is the tool's own garbage collector target.
const toolGOGC = 400

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the run failed, or a flow had errors
	exitUsage = 2
)

func main() {
	// The virtual users and the simulated Qlik share the machine with the
	// qlikgate being measured, and their memory is not what the tool
	// reports: a lazier garbage collector leaves qlikgate more CPU. GOGC in
	// the environment still wins (and reaches qlikgate too; see -gogc).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(toolGOGC)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; tests call it with their own arguments.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if err != errHelp {
			fmt.Fprintf(stderr, "qlikgate-bench: %v\n", err)
		}
		return exitUsage
	}
	rep, err := bench(ctx, o, stderr)
	if rep != nil {
		rep.writeTable(stdout)
		if o.jsonFile != "" {
			if werr := rep.writeJSONFile(o.jsonFile); werr != nil {
				fmt.Fprintf(stderr, "qlikgate-bench: %v\n", werr)
				return exitFail
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate-bench: %v\n", err)
		return exitFail
	}
	if n := rep.errorCount(); n > 0 {
		fmt.Fprintf(stderr, "qlikgate-bench: %d flows failed (see the error samples above)\n", n)
		return exitFail
	}
	return exitOK
}
