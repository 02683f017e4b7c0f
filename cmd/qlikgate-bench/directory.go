package main

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// directory is the throwaway slapd with one account per virtual user.
type directory struct {
	slapd *ldaptest.Slapd
	users []account
}

// benchGroup is the group every virtual user of the directory belongs to,
// so each login also reads a group and sends it to Qlik.
const benchGroup = "bench"

// startDirectory starts slapd (ldaptest's test directory) and adds the
// virtual users. mode "auto" returns (nil, nil) when slapd is not installed.
func startDirectory(dir, mode string, users []account) (*directory, error) {
	if mode == "off" {
		return nil, nil
	}
	s, err := ldaptest.StartSlapd(filepath.Join(dir, "slapd"))
	var unavailable *ldaptest.Unavailable
	if errors.As(err, &unavailable) && mode == "auto" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("starting slapd: %w", err)
	}
	d := &directory{slapd: s, users: users}
	if err := d.addUsers(); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return d, nil
}

// addUsers adds uid=<name> under ou=people with a salted SHA-1 password (as
// slappasswd does) and a group holding all of them.
func (d *directory) addUsers() error {
	c, err := goldap.DialURL(d.slapd.URL)
	if err != nil {
		return fmt.Errorf("slapd: %w", err)
	}
	defer c.Close()
	if err := c.Bind(d.slapd.AdminDN, d.slapd.AdminPW); err != nil {
		return fmt.Errorf("slapd: bind as rootdn: %w", err)
	}
	var members []string
	for _, u := range d.users {
		dn := d.slapd.DN(u.name)
		req := goldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"inetOrgPerson"})
		req.Attribute("uid", []string{u.name})
		req.Attribute("cn", []string{u.fullName})
		req.Attribute("sn", []string{"Bench"})
		req.Attribute("mail", []string{u.name + "@example.org"})
		req.Attribute("userPassword", []string{ssha(u.password)})
		if err := c.Add(req); err != nil {
			return fmt.Errorf("slapd: add %s: %w", dn, err)
		}
		members = append(members, dn)
	}
	group := goldap.NewAddRequest("cn="+benchGroup+",ou=groups,"+d.slapd.BaseDN, nil)
	group.Attribute("objectClass", []string{"groupOfNames"})
	group.Attribute("cn", []string{benchGroup})
	group.Attribute("member", members)
	if err := c.Add(group); err != nil {
		return fmt.Errorf("slapd: add group %s: %w", benchGroup, err)
	}
	return nil
}

// pid is slapd's process id, from its pid file, or 0.
func (d *directory) pid() int {
	if d == nil {
		return 0
	}
	data, err := os.ReadFile(filepath.Join(d.slapd.Dir, "slapd.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

func (d *directory) close() {
	if d != nil {
		_ = d.slapd.Stop()
	}
}

// ssha hashes a password the way slappasswd does by default.
func ssha(pw string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}
