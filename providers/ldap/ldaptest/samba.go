package ldaptest

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// Samba is a running Samba Active Directory domain controller for the realm
// TEST.EXAMPLE.ORG (NetBIOS domain TEST). Its LDAP ports are fixed by Samba
// at 389 and 636 on 127.0.0.1, so it needs root and only one can run per
// machine. Like a default AD, it refuses simple binds without TLS ("strong
// auth"): use LDAPSURL, or URL with StartTLS.
//
// Accounts (CN=<name>,CN=Users,<BaseDN>), password "Passw0rd-<name>":
//
//	svc-qlik  the service account
//	alice     AppAdmins, AppUsers (⊂ AllStaff, nested); displayName, mail, department
//	bob       AppUsers
//	dora      disabled                         → bind data 533
//	mike      must change password (pwdLastSet=0) → 773
//	pete      password expired (pwdLastSet 50 days ago) → 532, when PasswordExpired
//	eve       account expired (accountExpires)  → 701
//	hank      no logon hours                    → 530
//	wes       may only log on at workstation NOWHERE → 531
//	lou       locked out by wrong passwords     → 775 (with any password)
//	mona      must change password (773), for tests that change it
//	nina      must change password (773), for tests that change it
//	paul      password expired (532, like pete), for tests that change it
//	quinn     password expired (532, like pete), for tests that change it
//	kira      for Kerberos tests that disable the account after it got a ticket
//	kurt      for Kerberos tests that lock the account out after it got a ticket
//	olga      in OU=Elsewhere, not under CN=Users: a Kerberos principal that a
//	          provider with user_base CN=Users,<BaseDN> does not find
//	svc-http  holds the SPN HTTP/qlikgate.test (its keys: Keytab)
//	svc-other holds the SPN HTTP/other.test, a service qlikgate is not
//
// The same Samba is the realm's KDC (KDCAddr, Krb5Conf), on free loopback
// ports of its own, with AES keys for every account (RC4 only on request).
//
// Tests that change a password use mona, nina, paul or quinn, one each, so that
// the others keep the state described here.
//
// The domain locks an account after LockoutThreshold wrong passwords.
type Samba struct {
	URL      string // ldap://127.0.0.1:389
	LDAPSURL string // ldaps://127.0.0.1:636
	CAFile   string
	BaseDN   string // DC=test,DC=example,DC=org
	Realm    string // test.example.org
	Domain   string // TEST
	BindDN   string // svc-qlik's DN
	BindPass string
	Dir      string
	// PasswordExpired tells whether pete's, paul's and quinn's passwords could be aged (it needs
	// Samba's Python bindings); if not, PasswordExpiredErr says why.
	PasswordExpired    bool
	PasswordExpiredErr error

	// KDCAddr is the Kerberos KDC (TCP and UDP), 127.0.0.1:port.
	KDCAddr string
	// Krb5Conf is a krb5.conf for MIT tools and gokrb5 clients: the realm
	// TEST.EXAMPLE.ORG at KDCAddr, the hosts qlikgate.test and other.test in
	// it, no DNS.
	Krb5Conf string
	// Keytab holds the keys of HTTP/qlikgate.test@TEST.EXAMPLE.ORG
	// (aes256 and aes128), exported by SPN.
	Keytab string
	// SPN is the service principal of Keytab; OtherSPN is one of another
	// account, for tickets qlikgate must refuse.
	SPN, OtherSPN string
	// KerberosRealm is the realm in upper case.
	KerberosRealm string

	conf string // smb.conf
	tool string // samba-tool

	proc   *process
	unlock func() // releases lockSamba
}

// Samba's fixed test values.
const (
	sambaAdminPass   = "Admin-Passw0rd!"
	LockoutThreshold = 10
)

// Password returns the test password of an account.
func (s *Samba) Password(name string) string { return "Passw0rd-" + name }

// DN returns the DN of an account.
func (s *Samba) DN(name string) string { return "CN=" + name + ",CN=Users," + s.BaseDN }

// StartSamba provisions a domain in dir and starts its LDAP service. It
// first waits while another process runs one (the ports are fixed); Stop
// lets the next one start.
func StartSamba(dir string) (*Samba, error) {
	if os.Geteuid() != 0 {
		return nil, &Unavailable{Reason: "Samba AD needs root (its LDAP ports are 389 and 636)"}
	}
	sambaBin, err := lookPath("samba")
	if err != nil {
		return nil, err
	}
	tool, err := lookPath("samba-tool")
	if err != nil {
		return nil, err
	}
	unlock, err := lockSamba()
	if err != nil {
		return nil, err
	}
	s, err := startSamba(dir, sambaBin, tool)
	if err != nil {
		unlock()
		return nil, err
	}
	s.unlock = unlock
	return s, nil
}

func startSamba(dir, sambaBin, tool string) (*Samba, error) {
	for _, port := range []string{"389", "636"} {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			return nil, &Unavailable{Reason: "port " + port + " is already in use (another Samba or a system slapd?)"}
		}
	}
	s := &Samba{URL: "ldap://127.0.0.1:389", LDAPSURL: "ldaps://127.0.0.1:636", BaseDN: "DC=test,DC=example,DC=org",
		Realm: "test.example.org", Domain: "TEST", Dir: dir}
	s.BindDN, s.BindPass = s.DN("svc-qlik"), s.Password("svc-qlik")
	s.SPN, s.OtherSPN, s.KerberosRealm = "HTTP/qlikgate.test", "HTTP/other.test", strings.ToUpper(s.Realm)
	kdcPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	kpasswdPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	s.KDCAddr = fmt.Sprintf("127.0.0.1:%d", kdcPort)
	s.tool = tool
	tf, err := writeTLS(dir)
	if err != nil {
		return nil, err
	}
	s.CAFile = tf.CA
	conf, err := s.provision(tool, tf, kdcPort, kpasswdPort)
	if err != nil {
		return nil, err
	}
	s.conf = conf
	s.proc, err = startProcess(filepath.Join(dir, "samba.log"), sambaBin,
		"-s", conf, "-F", "--no-process-group", "-M", "single", "--debug-stdout", "-d", "1")
	if err != nil {
		return nil, err
	}
	tc, err := tlsConfigFor(s.CAFile)
	if err != nil {
		s.Stop()
		return nil, err
	}
	ready := func() error {
		c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(tc))
		if err == nil {
			c.Close()
		}
		if err == nil {
			var k net.Conn
			if k, err = net.DialTimeout("tcp", s.KDCAddr, time.Second); err == nil {
				k.Close()
			}
		}
		return err
	}
	if err := s.proc.waitReady(60*time.Second, ready); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.populate(tc); err != nil {
		s.Stop()
		return nil, err
	}
	s.PasswordExpiredErr = s.agePassword(conf, "pete", 50*24*time.Hour)
	if s.PasswordExpiredErr == nil {
		s.PasswordExpiredErr = s.agePassword(conf, "paul", 50*24*time.Hour)
	}
	if s.PasswordExpiredErr == nil {
		s.PasswordExpiredErr = s.agePassword(conf, "quinn", 50*24*time.Hour)
	}
	s.PasswordExpired = s.PasswordExpiredErr == nil
	if err := s.kerberos(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop stops Samba.
func (s *Samba) Stop() error {
	if s.proc == nil {
		return nil
	}
	err := s.proc.stop(10 * time.Second)
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return err
}

// TLSConfig trusts the server's CA.
func (s *Samba) TLSConfig() (*tls.Config, error) { return tlsConfigFor(s.CAFile) }

// provision creates the domain (the slow part, about 7 s) and configures it
// for loopback, LDAP only, our certificate and strong auth.
func (s *Samba) provision(tool string, tf TLSFiles, kdcPort, kpasswdPort int) (string, error) {
	target := filepath.Join(s.Dir, "dc")
	cmd := exec.Command(tool, "domain", "provision", "--targetdir="+target, "--realm="+strings.ToUpper(s.Realm),
		"--domain="+s.Domain, "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307", "--adminpass="+sambaAdminPass,
		"--host-name=dc1", "--host-ip=127.0.0.1", "--option=netbios name=DC1",
		"--option=interfaces=lo", "--option=bind interfaces only=yes")
	logFile := filepath.Join(s.Dir, "provision.log")
	out, err := os.Create(logFile)
	if err != nil {
		return "", err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ldaptest: samba-tool domain provision: %w; see %s", err, logFile)
	}
	conf := filepath.Join(target, "etc", "smb.conf")
	data, err := os.ReadFile(conf)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for line := range strings.Lines(string(data)) {
		switch t := strings.TrimSpace(line); {
		case strings.HasPrefix(t, "server services ="):
			line = "\tserver services = ldap kdc\n"
		case strings.HasPrefix(t, "log file ="):
			line = "\tlog file = " + filepath.Join(target, "log.%m") + "\n"
		}
		b.WriteString(line)
		if strings.TrimSpace(line) == "[global]" {
			fmt.Fprintf(&b, "\tldap server require strong auth = yes\n\ttls enabled = yes\n\ttls keyfile = %s\n\ttls certfile = %s\n\ttls cafile = %s\n",
				tf.Key, tf.Cert, tf.CA)
			// Samba accepts a changed password for an hour by default, which
			// would hide whether a change really took the old one away.
			b.WriteString("\told password allowed period = 0\n")
			// The KDC on ports of its own, next to anything on 88; its own
			// pid directory, or a second Samba on the machine refuses to
			// start ("/run/samba/samba.pid exists"); AES keys and tickets
			// for accounts with an SPN, which otherwise get RC4 only.
			run := filepath.Join(target, "run")
			fmt.Fprintf(&b, "\tkrb5 port = %d\n\tkpasswd port = %d\n\tpid directory = %s\n\tncalrpc dir = %s\n", kdcPort, kpasswdPort, run, filepath.Join(run, "ncalrpc"))
			b.WriteString("\tkdc default domain supported enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n")
		}
	}
	if err := os.MkdirAll(filepath.Join(target, "run"), 0o755); err != nil {
		return "", err
	}
	return conf, os.WriteFile(conf, []byte(b.String()), 0o600)
}

// populate creates the accounts over LDAPS as Administrator: much faster
// than one samba-tool process per account.
func (s *Samba) populate(tc *tls.Config) error {
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return fmt.Errorf("ldaptest: %w", err)
	}
	defer c.Close()
	if err := c.Bind("Administrator@"+s.Realm, sambaAdminPass); err != nil {
		return fmt.Errorf("ldaptest: bind as Administrator: %w", err)
	}
	m := ldap.NewModifyRequest(s.BaseDN, nil)
	m.Replace("lockoutThreshold", []string{strconv.Itoa(LockoutThreshold)})
	if err := c.Modify(m); err != nil {
		return fmt.Errorf("ldaptest: lockout threshold: %w", err)
	}
	const normal, disabled = "512", "514"
	users := []struct {
		name  string
		attrs map[string][]string
	}{
		{"svc-qlik", nil},
		{"alice", map[string][]string{"givenName": {"Alice"}, "sn": {"Example"}, "displayName": {"Alice Example"},
			"mail": {"alice@example.org"}, "department": {"Sales"}}},
		{"bob", map[string][]string{"displayName": {"Bob Example"}, "mail": {"bob@example.org"}}},
		{"dora", map[string][]string{"userAccountControl": {disabled}}},
		{"mike", map[string][]string{"pwdLastSet": {"0"}}},
		{"pete", nil},
		{"eve", map[string][]string{"accountExpires": {"125911584000000000"}}}, // 2000-01-01
		{"hank", map[string][]string{"logonHours": {string(make([]byte, 21))}}},
		{"wes", map[string][]string{"userWorkstations": {"NOWHERE"}}},
		{"lou", nil},
		{"mona", map[string][]string{"pwdLastSet": {"0"}}},
		{"nina", map[string][]string{"pwdLastSet": {"0"}}},
		{"paul", nil},
		{"quinn", nil},
		{"kira", nil},
		{"kurt", nil},
		{"svc-http", map[string][]string{"servicePrincipalName": {s.SPN}}},
		{"svc-other", map[string][]string{"servicePrincipalName": {s.OtherSPN}}},
	}
	for _, u := range users {
		req := ldap.NewAddRequest(s.DN(u.name), nil)
		attrs := map[string][]string{"objectClass": {"user"}, "sAMAccountName": {u.name},
			"userPrincipalName": {u.name + "@" + s.Realm}, "unicodePwd": {adPassword(s.Password(u.name))},
			"userAccountControl": {normal}}
		for k, v := range u.attrs {
			attrs[k] = v
		}
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			return fmt.Errorf("ldaptest: add %s: %w", u.name, err)
		}
	}
	groups := []struct {
		name    string
		members []string
	}{
		{"AllStaff", nil},
		{"AppUsers", []string{s.DN("alice"), s.DN("bob")}},
		{"AppAdmins", []string{s.DN("alice")}},
	}
	for _, g := range groups {
		req := ldap.NewAddRequest(s.DN(g.name), nil)
		req.Attribute("objectClass", []string{"group"})
		req.Attribute("sAMAccountName", []string{g.name})
		if len(g.members) > 0 {
			req.Attribute("member", g.members)
		}
		if err := c.Add(req); err != nil {
			return fmt.Errorf("ldaptest: add group %s: %w", g.name, err)
		}
	}
	m = ldap.NewModifyRequest(s.DN("AllStaff"), nil)
	m.Add("member", []string{s.DN("AppUsers")})
	if err := c.Modify(m); err != nil {
		return fmt.Errorf("ldaptest: nest AppUsers in AllStaff: %w", err)
	}
	return s.lockOut(tc, "lou")
}

// LockOut locks an account out the way users do, with too many wrong
// passwords.
func (s *Samba) LockOut(name string) error {
	tc, err := tlsConfigFor(s.CAFile)
	if err != nil {
		return err
	}
	return s.lockOut(tc, name)
}

// lockOut locks an account the way users do: too many wrong passwords.
func (s *Samba) lockOut(tc *tls.Config, name string) error {
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return fmt.Errorf("ldaptest: %w", err)
	}
	defer c.Close()
	for range LockoutThreshold {
		_ = c.Bind(s.DN(name), "wrong")
	}
	err = c.Bind(s.DN(name), s.Password(name))
	if err == nil || !strings.Contains(err.Error(), "data 775") {
		return fmt.Errorf("ldaptest: %s is not locked out after %d wrong passwords: %v", name, LockoutThreshold, err)
	}
	return nil
}

// agePassword moves an account's pwdLastSet into the past, so that its
// password has expired under the default 42-day policy. AD accepts only 0 or
// -1 for pwdLastSet over LDAP; Samba's local database accepts a value with the
// control that bypasses its password module, through its Python bindings.
func (s *Samba) agePassword(conf, name string, age time.Duration) error {
	python := "/usr/bin/python3" // Samba's bindings are built for the system Python
	if _, err := os.Stat(python); err != nil {
		return &Unavailable{Reason: "no " + python + " for Samba's Python bindings"}
	}
	lastSet := (time.Now().Add(-age).Unix() + 11644473600) * 10_000_000 // Windows FILETIME
	script := `import sys, ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=sys.argv[2], session_info=system_session(), lp=lp)
m = ldb.Message(); m.dn = ldb.Dn(db, sys.argv[3])
m["pwdLastSet"] = ldb.MessageElement(sys.argv[4], ldb.FLAG_MOD_REPLACE, "pwdLastSet")
db.modify(m, controls=["local_oid:1.3.6.1.4.1.7165.4.3.12:0"])
`
	out, err := exec.Command(python, "-c", script, conf, filepath.Join(s.Dir, "dc", "private", "sam.ldb"),
		s.DN(name), strconv.FormatInt(lastSet, 10)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ldaptest: ageing %s's password: %v: %s", name, err, out)
	}
	return nil
}

// adPassword encodes a password for unicodePwd: quoted, UTF-16LE.
func adPassword(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}

// kerberos adds olga outside CN=Users, exports the service keytab and
// writes the clients' krb5.conf.
func (s *Samba) kerberos() error {
	c, err := s.adminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	ou := "OU=Elsewhere," + s.BaseDN
	req := ldap.NewAddRequest(ou, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	if err := c.Add(req); err != nil {
		return fmt.Errorf("ldaptest: add %s: %w", ou, err)
	}
	req = ldap.NewAddRequest("CN=olga,"+ou, nil)
	for k, v := range map[string][]string{"objectClass": {"user"}, "sAMAccountName": {"olga"},
		"userPrincipalName": {"olga@" + s.Realm}, "unicodePwd": {adPassword(s.Password("olga"))}, "userAccountControl": {"512"}} {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		return fmt.Errorf("ldaptest: add olga: %w", err)
	}
	s.Keytab = filepath.Join(s.Dir, "http.keytab")
	if err := s.ExportKeytab(s.Keytab, s.SPN); err != nil {
		return err
	}
	s.Krb5Conf = filepath.Join(s.Dir, "krb5.conf")
	conf := fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_realm = false
    dns_lookup_kdc = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = 1
[realms]
    %[1]s = {
        kdc = %[2]s
    }
[domain_realm]
    qlikgate.test = %[1]s
    .qlikgate.test = %[1]s
    other.test = %[1]s
`, s.KerberosRealm, s.KDCAddr)
	return os.WriteFile(s.Krb5Conf, []byte(conf), 0o644)
}

// ExportKeytab writes the keys of principal (an SPN, or name@REALM for an
// account's) to a new keytab file, with samba-tool, which appends to an
// existing file: the file is removed first.
func (s *Samba) ExportKeytab(file, principal string) error {
	_ = os.Remove(file)
	out, err := exec.Command(s.tool, "domain", "exportkeytab", file, "--principal="+principal, "-s", s.conf).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ldaptest: samba-tool domain exportkeytab %s: %v: %s", principal, err, out)
	}
	return nil
}

// SetDisabled disables or enables an account (userAccountControl 514/512).
func (s *Samba) SetDisabled(name string, disabled bool) error {
	c, err := s.adminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	uac := "512"
	if disabled {
		uac = "514"
	}
	m := ldap.NewModifyRequest(s.DN(name), nil)
	m.Replace("userAccountControl", []string{uac})
	if err := c.Modify(m); err != nil {
		return fmt.Errorf("ldaptest: userAccountControl of %s: %w", name, err)
	}
	return nil
}
