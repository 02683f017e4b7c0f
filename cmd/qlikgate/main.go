// Command qlikgate is an external authentication module for Qlik: it shows a
// login page, checks the user against LDAP, OpenID Connect or a static list,
// and hands the user to Qlik Sense, QlikView or Qlik Cloud.
//
// Usage:
//
//	qlikgate serve -config config.yaml   run the module
//	qlikgate demo                        run against simulated Sense, QlikView and Cloud, no config needed
//	qlikgate check -config config.yaml   check certificates, directories, issuers and Qlik endpoints
//	qlikgate hash-password               read a password on stdin, print an argon2id hash
//	qlikgate keygen -out jwt_private.pem make a Qlik Cloud JWT signing key
//	qlikgate service install -config F   run as a Windows service (also uninstall, start, stop, reload, status)
//	qlikgate version                     print version, commit and build date
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// Exit codes.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2 // bad configuration or usage: nothing was started
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitConfig
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "hash-password":
		return runHashPassword(args[1:], stdin, stdout, stderr)
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "mfa":
		return runMFA(ctx, args[1:], stdout, stderr)
	case "service":
		return runService(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "qlikgate %s (commit %s, built %s)\n", version, commit, date)
		return exitOK
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "qlikgate: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitConfig
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `qlikgate — external authentication module for Qlik

Commands:
  serve -config FILE   run the module with a configuration file
  demo                 run against simulated Qlik Sense, QlikView and Qlik Cloud (no configuration needed)
  check -config FILE   check the configuration against the real servers: certificates, LDAP, OIDC, Qlik
  hash-password        read a password on stdin and print an argon2id hash for the static provider
  keygen -out FILE     make a Qlik Cloud JWT signing key; print the public key for the tenant
  mfa list|reset USER  list second-factor enrolments, or reset a user's (help desk)
  service ACTION       install, uninstall, start, stop, reload or show the Windows service (status)
  version              print version, commit and build date

Run "qlikgate COMMAND -h" for the flags of a command.
`)
}
