package check

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ExpiryWarning is how long before it expires a certificate is reported:
// thirty days leave time to obtain and roll out a new one through change
// control.
const ExpiryWarning = 30 * 24 * time.Hour

// Validity checks a certificate's validity period at now. renew says how
// to get a new certificate of this kind; it becomes the fix of a failure or
// warning.
func Validity(name string, c *x509.Certificate, now time.Time, renew string) Result {
	left := c.NotAfter.Sub(now)
	switch {
	case now.After(c.NotAfter):
		return Fail(name, fmt.Sprintf("%s expired on %s (%s ago)", Describe(c), day(c.NotAfter), days(-left)), renew)
	case now.Before(c.NotBefore):
		return Fail(name, fmt.Sprintf("%s is not valid before %s", Describe(c), c.NotBefore.UTC().Format(time.RFC3339)),
			"check this machine's clock and time zone, or wait until the certificate becomes valid")
	case left < ExpiryWarning:
		return Warning(name, fmt.Sprintf("%s expires on %s, in %s", Describe(c), day(c.NotAfter), days(left)), renew)
	}
	return Pass(name, fmt.Sprintf("%s valid until %s (%s)", Describe(c), day(c.NotAfter), days(left)))
}

// IssuedBy checks that leaf was issued by one of roots, directly or
// through intermediates. Expiry is left to Validity, so that one expired
// certificate gives one failure: a direct issuer is found by its signature
// alone, and a chain is verified at a moment inside the leaf's validity.
// Key usages are not checked: Qlik's exported certificates are used for
// purposes their extensions do not always list.
func IssuedBy(name string, leaf *x509.Certificate, intermediates, roots []*x509.Certificate, fix string) Result {
	if len(roots) == 0 {
		return Fail(name, "no CA certificate to verify it against", fix)
	}
	for _, r := range roots {
		if leaf.CheckSignatureFrom(r) == nil {
			return Pass(name, fmt.Sprintf("%s is issued by %q", Describe(leaf), r.Subject.String()))
		}
	}
	opts := x509.VerifyOptions{
		Roots:         x509.NewCertPool(),
		Intermediates: x509.NewCertPool(),
		CurrentTime:   insideValidity(leaf, time.Now()),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	for _, r := range roots {
		opts.Roots.AddCert(r)
	}
	for _, c := range intermediates {
		opts.Intermediates.AddCert(c)
	}
	chains, err := leaf.Verify(opts)
	if err != nil {
		return Fail(name, fmt.Sprintf("%s, issued by %q, is not issued by the configured CA (%s)",
			Describe(leaf), leaf.Issuer.String(), names(roots)), fix)
	}
	chain := chains[0]
	return Pass(name, fmt.Sprintf("%s is issued by %q", Describe(leaf), chain[len(chain)-1].Subject.String()))
}

// insideValidity is now, moved into c's validity period when outside it.
func insideValidity(c *x509.Certificate, now time.Time) time.Time {
	switch {
	case now.After(c.NotAfter):
		return c.NotAfter.Add(-time.Second)
	case now.Before(c.NotBefore):
		return c.NotBefore.Add(time.Second)
	}
	return now
}

// KeyMatches checks that key is the private key of c's public key.
func KeyMatches(name string, c *x509.Certificate, key crypto.PrivateKey, fix string) Result {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return Fail(name, fmt.Sprintf("the private key (%T) cannot sign", key), fix)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.PublicKey) {
		return Fail(name, fmt.Sprintf("the private key does not belong to %s", Describe(c)), fix)
	}
	return Pass(name, fmt.Sprintf("the private key matches %s", Describe(c)))
}

// CAFile reads a PEM (or single DER) CA bundle and checks the validity of
// each certificate in it. key is the configuration key naming the file.
func CAFile(key, path string, now time.Time) []Result {
	name := key + " " + path
	certs, err := ReadCerts(path)
	if err != nil {
		return []Result{Fail(name, err.Error(), "point "+key+" at a readable PEM file of CA certificates")}
	}
	out := make([]Result, 0, len(certs))
	for _, c := range certs {
		out = append(out, Validity(name, c, now, "replace the CA certificate in "+path+" with the CA's current one"))
	}
	return out
}

// ReadCerts reads every PEM certificate in a file, or one DER certificate
// (Windows exports .cer files in DER).
func ReadCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) > 0 {
		return out, nil
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, errors.New(path + ": no certificate found (want PEM or DER)")
	}
	return []*x509.Certificate{c}, nil
}

// Describe names a certificate by its subject, the way an operator finds
// it in a certificate store: `"CN=QlikClient,O=…"`.
func Describe(c *x509.Certificate) string {
	return "certificate " + fmt.Sprintf("%q", c.Subject.String())
}

// Fingerprint is the SHA-256 of DER bytes in lower-case hex, the form
// `openssl … -outform DER | sha256sum` prints.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func names(cs []*x509.Certificate) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%q", c.Subject.String())
	}
	return strings.Join(out, ", ")
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// days renders a duration in whole days, or hours when under two days.
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
