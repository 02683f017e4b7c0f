package web

import (
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
)

// TestLoginKeepsTargetsOfTheSameUser: a sign-in over a live one (an entry
// that asked for a newer sign-in) rotates the identifiers; the same user
// keeps the targets sign-out must end, another user starts with none.
func TestLoginKeepsTargetsOfTheSameUser(t *testing.T) {
	alice := providers.Identity{Directory: "CORP", UserID: "alice"}
	for _, tc := range []struct {
		name string
		next providers.Identity
		want int
	}{
		{"same user", alice, 1},
		{"another user", providers.Identity{Directory: "CORP", UserID: "bob"}, 0},
		{"same id, another directory", providers.Identity{Directory: "EXT", UserID: "alice"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &state{Owes: "totp", Factors: []string{"totp"}}
			st.login(alice, time.Unix(1000, 0))
			st.addTarget("cloudoidc")
			sid, csrf := st.SID, st.CSRF
			st.Owes = "totp"
			st.login(tc.next, time.Unix(2000, 0))
			if len(st.Targets) != tc.want || st.SID == sid || st.CSRF == csrf || st.AuthAt != 2000 || st.Owes != "" || st.User.UserID != tc.next.UserID {
				t.Errorf("after the second sign-in: %+v", st)
			}
		})
	}
}
