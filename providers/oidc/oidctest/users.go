package oidctest

import (
	"maps"
	"sync"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// User is an account at the test OP.
type User struct {
	// ID is the user's `sub`.
	ID string
	// Username is what is typed in the OP's login form; it is also the
	// preferred_username claim.
	Username, Password string
	// GivenName and FamilyName make up the name claim.
	GivenName, FamilyName string
	Email                 string
	EmailVerified         bool
	// Claims are added to both the ID token and the userinfo answer, like
	// an identity provider with a groups or roles mapper (Keycloak, Entra).
	Claims map[string]any
	// UserInfoClaims are added to the userinfo answer only, like a provider
	// that keeps groups out of the ID token.
	UserInfoClaims map[string]any
}

// DefaultUsers are the accounts every OP starts with. Their names and
// passwords match the test LDAP directory's (testinfra §1).
//
//	user   password    sub      email (verified)            groups claim                 other claims
//	alice  alicepass   u-alice  alice@example.org (yes)     ["admins","users"] (array)   realm_access.roles ["analyst","viewer"], department "Sales"
//	bob    bobpass     u-bob    bob@example.net (yes)       "users" (a single string)    department "Support"
//	carol  carolpass   u-carol  carol@example.org (no)      none in the ID token;        —
//	                                                        ["auditors"] from userinfo
//
// Profile and e-mail claims come from userinfo unless the client was
// registered with ClaimsInIDToken (that is how zitadel's OP behaves).
func DefaultUsers() []User {
	return []User{
		{
			ID: "u-alice", Username: "alice", Password: "alicepass", GivenName: "Alice", FamilyName: "Example",
			Email: "alice@example.org", EmailVerified: true,
			Claims: map[string]any{
				"groups":       []any{"admins", "users"},
				"realm_access": map[string]any{"roles": []any{"analyst", "viewer"}},
				"department":   "Sales",
			},
		},
		{
			ID: "u-bob", Username: "bob", Password: "bobpass", GivenName: "Bob", FamilyName: "Example",
			Email: "bob@example.net", EmailVerified: true,
			Claims: map[string]any{"groups": "users", "department": "Support"},
		},
		{
			ID: "u-carol", Username: "carol", Password: "carolpass", GivenName: "Carol", FamilyName: "Example",
			Email: "carol@example.org", EmailVerified: false,
			UserInfoClaims: map[string]any{"groups": []any{"auditors"}},
		},
	}
}

// userStore implements storage.UserStore over Users that can be added while
// the OP runs.
type userStore struct {
	mu    sync.RWMutex
	users map[string]User // by ID
}

func (s *userStore) add(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Claims, u.UserInfoClaims = maps.Clone(u.Claims), maps.Clone(u.UserInfoClaims)
	s.users[u.ID] = u
}

func (s *userStore) get(id string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	return u, ok
}

func (s *userStore) GetUserByID(id string) *storage.User {
	u, ok := s.get(id)
	if !ok {
		return nil
	}
	return u.storageUser()
}

func (s *userStore) GetUserByUsername(username string) *storage.User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, u := range s.users {
		if u.Username == username {
			return u.storageUser()
		}
	}
	return nil
}

// ExampleClientID names the example's JWT-profile service user, unused here.
func (s *userStore) ExampleClientID() string { return storage.ServiceUserID }

func (u User) storageUser() *storage.User {
	return &storage.User{
		ID: u.ID, Username: u.Username, Password: u.Password,
		FirstName: u.GivenName, LastName: u.FamilyName,
		Email: u.Email, EmailVerified: u.EmailVerified,
		PreferredLanguage: language.English,
	}
}
