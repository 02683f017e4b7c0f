package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"strings"

	"github.com/qlikgate/qlikgate/qlik/cloud"
)

// runKeygen writes a Qlik Cloud JWT signing key (mode 0600, never
// overwritten) and prints the public key to paste into the tenant's JWT
// identity provider, both as PEM and as the one-line form its API wants.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "jwt_private.pem", "where to write the private key")
	alg := fs.String("alg", cloud.RS256, "RS256 (RSA, what Qlik documents) or ES256 (EC P-256)")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if *alg != cloud.RS256 && *alg != cloud.ES256 {
		fmt.Fprintf(stderr, "keygen: -alg %q: use RS256 or ES256\n", *alg)
		return exitConfig
	}
	priv, pub, err := cloud.GenerateKey(*alg)
	if err != nil {
		fmt.Fprintf(stderr, "keygen: %v\n", err)
		return exitFail
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, iofs.ErrExist) {
		fmt.Fprintf(stderr, "keygen: %s exists; not overwriting a key (move it away first)\n", *out)
		return exitFail
	} else if err != nil {
		fmt.Fprintf(stderr, "keygen: %v\n", err)
		return exitFail
	}
	_, err = f.Write(priv)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "keygen: writing %s: %v\n", *out, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "Private key written to %s (%s). Point cloud.private_key_file at it.\n\n", *out, *alg)
	fmt.Fprintf(stdout, "Public key for the tenant's JWT identity provider:\n\n%s\n", pub)
	fmt.Fprintf(stdout, "The same on one line, for POST /api/v1/identity-providers (staticKeys[].pem):\n\n%s\n",
		strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", `\n`))
	return exitOK
}
