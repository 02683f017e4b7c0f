package cloud

import (
	"crypto/x509"

	"github.com/qlikgate/qlikgate/qlik"
)

// These are the rules the cloud-oidc kind (qlik/cloudoidc) shares with this
// one: the same tenant may be moved from JWT to OpenID Connect login, and
// its users must keep their subjects and the same tenant_url rules.

// CheckSubjectFormat reports a subject_format that is not {user} with
// optional {directory} and literal text.
func CheckSubjectFormat(f string) error { return checkSubjectFormat(f) }

// Subject applies a subject_format to u.
func Subject(format string, u qlik.User) string {
	return (&JWTTarget{cfg: Config{SubjectFormat: format}}).subject(u)
}

// TenantOrigin checks a tenant_url and returns https://host[:port] with the
// host in lower case and without a default port or trailing slash.
func TenantOrigin(raw string) (string, error) { return tenantOrigin(raw) }

// ReadCAFile reads a ca_file into a pool.
func ReadCAFile(path string) (*x509.CertPool, error) { return readCAFile(path) }
