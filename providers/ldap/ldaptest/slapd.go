package ldaptest

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Slapd is a running OpenLDAP server with the test directory:
//
//	dc=example,dc=org
//	  cn=svc                 service account, password "svcpass"
//	  ou=people              uid=alice (alicepass), bob, carol, dave, erin, jürgen ("<uid>pass"),
//	                         cn=Odd User with uid `st*r(1)\x` (password "oddpass"),
//	                         uid=twin (twinpass)
//	  ou=contractors         uid=twin again (twinpass), for "two entries match"
//	  ou=groups              admins{alice} users{alice,bob}
//	                         dev{dave} ⊂ engineering ⊂ staff          (nested)
//	                         cycle-a{erin, cycle-b} ⊂ cycle-b{cycle-a} (a cycle)
//
//	  ou=policies            ppolicy: default (pwdMinLength 8, pwdCheckQuality 2,
//	                         pwdInHistory 3, pwdMustChange), grace (expires,
//	                         5 grace logins), nograce (expires), young (pwdMinAge 1 day)
//	  ou=people, ppolicy     uid=rita, ruth (reset by an administrator: pwdReset),
//	                         eddie, ezra (expired, grace logins left), nora
//	                         (expired, no grace login), yuri (changed too recently),
//	                         each "<uid>pass"
//
// carol is in no group. The memberOf overlay fills memberOf on users and
// groups. Unauthenticated binds (a DN with an empty password) succeed, as on
// many servers, so tests can prove that clients never send one.
type Slapd struct {
	URL      string // ldap://127.0.0.1:PORT (StartTLS available)
	LDAPSURL string // ldaps://127.0.0.1:PORT
	Addr     string // 127.0.0.1:PORT of URL
	CAFile   string // the CA that signed the server certificate
	BaseDN   string
	BindDN   string // the service account
	BindPass string
	AdminDN  string // rootdn
	AdminPW  string
	Dir      string

	proc *process
}

// StartSlapd starts slapd in dir (which must exist and be empty or
// disposable) and loads the test directory.
func StartSlapd(dir string) (*Slapd, error) {
	bin, err := lookPath("slapd")
	if err != nil {
		return nil, err
	}
	var errs []error
	for i := range 3 { // a free port can be taken between picking and binding: retry in a clean directory
		s, err := startSlapd(bin, filepath.Join(dir, fmt.Sprint(i)))
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errNotReady) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// errNotReady marks a server that did not come up (worth another port).
var errNotReady = errors.New("server did not start")

func startSlapd(bin, dir string) (*Slapd, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	tf, err := writeTLS(dir)
	if err != nil {
		return nil, err
	}
	p1, err := FreePort()
	if err != nil {
		return nil, err
	}
	p2, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Slapd{
		Addr: fmt.Sprintf("127.0.0.1:%d", p1), URL: fmt.Sprintf("ldap://127.0.0.1:%d", p1),
		LDAPSURL: fmt.Sprintf("ldaps://127.0.0.1:%d", p2), CAFile: tf.CA, BaseDN: "dc=example,dc=org",
		BindDN: "cn=svc,dc=example,dc=org", BindPass: "svcpass",
		AdminDN: "cn=admin,dc=example,dc=org", AdminPW: "adminpass", Dir: dir,
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(s.config(tf)), 0o600); err != nil {
		return nil, err
	}
	// -d 0 keeps slapd in the foreground, so we own its PID.
	s.proc, err = startProcess(filepath.Join(dir, "slapd.log"), bin, "-d", "0", "-f", conf, "-h", s.URL+"/ "+s.LDAPSURL+"/")
	if err != nil {
		return nil, err
	}
	ready := func() error {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := s.proc.waitReady(10*time.Second, ready); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w: %w", errNotReady, err)
	}
	if err := s.load(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop stops slapd.
func (s *Slapd) Stop() error { return s.proc.stop(5 * time.Second) }

// TLSConfig trusts the server's CA.
func (s *Slapd) TLSConfig() (*tls.Config, error) { return tlsConfigFor(s.CAFile) }

func (s *Slapd) config(tf TLSFiles) string {
	return fmt.Sprintf(`include   /etc/ldap/schema/core.schema
include   /etc/ldap/schema/cosine.schema
include   /etc/ldap/schema/inetorgperson.schema
include   /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
moduleload ppolicy
pidfile   %[1]s/slapd.pid
argsfile  %[1]s/slapd.args
TLSCACertificateFile  %[2]s
TLSCertificateFile    %[3]s
TLSCertificateKeyFile %[4]s
allow bind_anon_dn

database  mdb
maxsize   104857600
suffix    "%[5]s"
rootdn    "%[6]s"
rootpw    %[7]s
directory %[1]s/data
index     objectClass eq
index     uid,cn,mail eq
index     member eq
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by * read
overlay   memberof
memberof-group-oc    groupOfNames
memberof-member-ad   member
memberof-memberof-ad memberOf
memberof-refint      TRUE
overlay   refint
refint_attributes    member
overlay   ppolicy
ppolicy_default      "cn=default,ou=policies,%[5]s"
`, s.Dir, tf.CA, tf.Cert, tf.Key, s.BaseDN, s.AdminDN, ssha(s.AdminPW))
}

// load adds the test directory over LDAP, so that the memberOf overlay sees
// every change (loading with slapadd would bypass it).
func (s *Slapd) load() error {
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		return fmt.Errorf("ldaptest: %w", err)
	}
	defer c.Close()
	if err := c.Bind(s.AdminDN, s.AdminPW); err != nil {
		return fmt.Errorf("ldaptest: bind as rootdn: %w", err)
	}
	b := s.BaseDN
	person := func(rdn, ou, uid, cn, pw string) entry {
		return entry{rdn + ",ou=" + ou + "," + b, map[string][]string{
			"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {cn}, "sn": {"Example"},
			"mail": {strings.ReplaceAll(uid, "ü", "ue") + "@example.org"}, "userPassword": {ssha(pw)}, "departmentNumber": {"D-" + uid},
		}}
	}
	group := func(cn string, members ...string) entry {
		return entry{"cn=" + cn + ",ou=groups," + b, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {cn}, "member": members}}
	}
	user := func(uid string) string { return "uid=" + uid + ",ou=people," + b }
	grp := func(cn string) string { return "cn=" + cn + ",ou=groups," + b }
	ou := func(name string) entry {
		return entry{"ou=" + name + "," + b, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {name}}}
	}
	entries := []entry{
		{b, map[string][]string{"objectClass": {"dcObject", "organization"}, "o": {"Example"}, "dc": {"example"}}},
		{s.BindDN, map[string][]string{"objectClass": {"organizationalRole", "simpleSecurityObject"}, "cn": {"svc"}, "userPassword": {ssha(s.BindPass)}}},
		ou("people"), ou("contractors"), ou("groups"),
		person("uid=alice", "people", "alice", "Alice Example", "alicepass"),
		person("uid=bob", "people", "bob", "Bob Example", "bobpass"),
		person("uid=carol", "people", "carol", "Carol Example", "carolpass"),
		person("uid=dave", "people", "dave", "Dave Example", "davepass"),
		person("uid=erin", "people", "erin", "Erin Example", "erinpass"),
		person("uid=jürgen", "people", "jürgen", "Jürgen Müller", "jürgenpass"),
		person("cn=Odd User", "people", `st*r(1)\x`, "Odd User", "oddpass"),
		person("uid=twin", "people", "twin", "Twin One", "twinpass"),
		person("uid=twin", "contractors", "twin", "Twin Two", "twinpass"),
		group("admins", user("alice")),
		group("users", user("alice"), user("bob")),
		group("dev", user("dave")),
		group("engineering", grp("dev")),
		group("staff", grp("engineering")),
		group("cycle-a", user("erin")),
		group("cycle-b", grp("cycle-a")),
	}
	for _, e := range entries {
		if err := e.add(c); err != nil {
			return err
		}
	}
	if err := s.loadPolicies(c); err != nil {
		return err
	}
	// Close the cycle once both groups exist, so memberOf is right on both.
	m := ldap.NewModifyRequest(grp("cycle-a"), nil)
	m.Add("member", []string{grp("cycle-b")})
	if err := c.Modify(m); err != nil {
		return fmt.Errorf("ldaptest: closing the group cycle: %w", err)
	}
	return nil
}

// relax is the LDAP Relax Rules control, with which the rootdn may set
// ppolicy's operational attributes (pwdChangedTime) that nobody else may.
var relax = ldap.NewControlString("1.3.6.1.4.1.4203.666.5.12", true, "")

// loadPolicies adds ppolicy's policies and the users whose passwords
// need changing. The default policy applies to every user but only
// matters when a password changes, so the other users sign in as before.
func (s *Slapd) loadPolicies(c *ldap.Conn) error {
	b := s.BaseDN
	policy := func(cn string, extra map[string][]string) entry {
		attrs := map[string][]string{
			"objectClass": {"pwdPolicy", "device"}, "cn": {cn}, "pwdAttribute": {"userPassword"},
			"pwdMinLength": {"8"}, "pwdCheckQuality": {"2"}, "pwdInHistory": {"3"},
			"pwdMustChange": {"TRUE"}, "pwdAllowUserChange": {"TRUE"},
		}
		maps.Copy(attrs, extra)
		return entry{"cn=" + cn + ",ou=policies," + b, attrs}
	}
	user := func(uid, policy string, extra map[string][]string) entry {
		attrs := map[string][]string{
			"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {uid}, "sn": {"Example"},
			"mail": {uid + "@example.org"}, "userPassword": {ssha(uid + "pass")},
		}
		if policy != "" {
			attrs["pwdPolicySubentry"] = []string{"cn=" + policy + ",ou=policies," + b}
		}
		maps.Copy(attrs, extra)
		return entry{"uid=" + uid + ",ou=people," + b, attrs}
	}
	long := "20200101000000Z" // years ago: past any pwdMaxAge below
	entries := []entry{
		{"ou=policies," + b, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"policies"}}},
		policy("default", nil),
		policy("grace", map[string][]string{"pwdMaxAge": {"86400"}, "pwdGraceAuthNLimit": {"5"}}),
		policy("nograce", map[string][]string{"pwdMaxAge": {"86400"}}),
		policy("young", map[string][]string{"pwdMinAge": {"86400"}}),
		user("rita", "", map[string][]string{"pwdReset": {"TRUE"}}),
		user("ruth", "", map[string][]string{"pwdReset": {"TRUE"}}),
		user("eddie", "grace", map[string][]string{"pwdChangedTime": {long}}),
		user("ezra", "grace", map[string][]string{"pwdChangedTime": {long}}),
		user("nora", "nograce", map[string][]string{"pwdChangedTime": {long}}),
		user("yuri", "young", nil),
	}
	for _, e := range entries {
		if err := e.add(c, relax); err != nil {
			return err
		}
	}
	return nil
}

type entry struct {
	dn    string
	attrs map[string][]string
}

func (e entry) add(c *ldap.Conn, controls ...ldap.Control) error {
	req := ldap.NewAddRequest(e.dn, controls)
	for k, v := range e.attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		return fmt.Errorf("ldaptest: add %s: %w", e.dn, err)
	}
	return nil
}

// ssha hashes a password the way slappasswd does by default.
func ssha(pw string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

func tlsConfigFor(caFile string) (*tls.Config, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ldaptest: no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, nil
}

// DN returns the DN of a test user of ou=people.
func (s *Slapd) DN(uid string) string {
	if strings.ContainsAny(uid, `*()\`) {
		return "cn=Odd User,ou=people," + s.BaseDN
	}
	return "uid=" + uid + ",ou=people," + s.BaseDN
}
