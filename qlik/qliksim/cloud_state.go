package qliksim

import (
	"slices"
	"time"
)

// CloudUser is a tenant user as the last JWT login described it.
type CloudUser struct {
	// ID is the tenant's user id, assigned at creation.
	ID      string
	Subject string
	Issuer  string // the IdP that created or last updated the user
	Name    string
	Email   string
	// Groups are the groups of the last login: the groups claim replaces
	// them, and a login without the claim leaves them alone.
	Groups []string
	// Disabled users get no impersonation tokens (status "disabled").
	Disabled bool
}

// cloudSession is a tenant session created by a JWT login.
type cloudSession struct {
	subject string
	csrf    string // the _csrfToken cookie, returned by /api/v1/csrf-token
	idToken string // the ID token of an OIDC login, sent back at logout
}

// cloudState is the tenant's mutable data; every method expects Cloud.mu
// held.
type cloudState struct {
	// jtis remembers every accepted jti (per issuer) until its token can
	// no longer be valid, which is all a replay check needs.
	jtis     map[string]time.Time
	users    map[string]CloudUser // by subject
	sessions map[string]cloudSession
}

func newCloudState() cloudState {
	return cloudState{
		jtis:     map[string]time.Time{},
		users:    map[string]CloudUser{},
		sessions: map[string]cloudSession{},
	}
}

// useJTI records a token id and reports false when it was seen before.
// Expired entries are dropped on the way: a token past exp+tolerance is
// refused by the time check anyway.
func (st *cloudState) useJTI(issuer, jti string, forgetAfter, now time.Time) bool {
	for k, t := range st.jtis {
		if now.After(t) {
			delete(st.jtis, k)
		}
	}
	k := issuer + "\x00" + jti
	if _, seen := st.jtis[k]; seen {
		return false
	}
	st.jtis[k] = forgetAfter
	return true
}

// upsertUser creates or updates the user and reports whether it is new.
func (st *cloudState) upsertUser(u CloudUser, groupsGiven bool) (created bool) {
	old, ok := st.users[u.Subject]
	if !groupsGiven {
		u.Groups = old.Groups
	}
	u.ID, u.Disabled = old.ID, old.Disabled || u.Disabled
	if !ok {
		u.ID = cloudRandom()[:24] // the tenant's ids are 24 hex digits
	}
	u.Groups = slices.Clone(u.Groups)
	st.users[u.Subject] = u
	return !ok
}

// User returns the tenant user with the given subject.
func (c *Cloud) User(subject string) (CloudUser, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.st.users[subject]
	u.Groups = slices.Clone(u.Groups)
	return u, ok
}

// SessionCount returns the number of live tenant sessions.
func (c *Cloud) SessionCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.st.sessions)
}
