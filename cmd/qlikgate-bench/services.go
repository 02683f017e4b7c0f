package main

import (
	"fmt"
	"path/filepath"
	"slices"
)

// services are what qlikgate talks to: the simulated Sense site and, when
// slapd is installed, the directory.
type services struct {
	site *senseSite
	dir  *directory // nil without slapd
}

// startServices generates the Sense site and starts slapd when a flow uses
// it (the ldap flow; the sso flow's first logins, preferably).
func startServices(o options, dir string, users []account, rep *report, progress func(string, ...any)) (*services, error) {
	progress("generating the Sense site's certificates (%s)", o.pki)
	site, err := newSenseSite(filepath.Join(dir, "sense"), o.pki, o.ticketTTL)
	if err != nil {
		return nil, err
	}
	s := &services{site: site}
	if !slices.Contains(o.flows, flowLDAP) && !slices.Contains(o.flows, flowSSO) {
		return s, nil
	}
	progress("starting slapd with %d users", len(users))
	if s.dir, err = startDirectory(dir, o.slapd, users); err != nil {
		s.close()
		return nil, err
	}
	switch {
	case s.dir != nil:
		rep.Setup.Directory = fmt.Sprintf("slapd (OpenLDAP, ldaptest) over LDAPS on this machine, one entry per virtual user; pool_size %d (default)",
			ldapConfig(s.dir).PoolSize)
	case slices.Contains(o.flows, flowLDAP):
		rep.Notes = append(rep.Notes, "slapd is not installed: the ldap flow was skipped (-slapd require makes this an error)")
	}
	return s, nil
}

func (s *services) close() {
	s.dir.close()
	s.site.close()
}
