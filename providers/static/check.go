package static

import (
	"context"
	"fmt"
	"strings"

	"github.com/qlikgate/qlikgate/check"
)

// minBcryptCost is the cost below which a bcrypt hash is reported: 10 is
// the library default and OWASP's floor.
const minBcryptCost = 10

// Diagnose reports the password hashes: all parse (Open made sure), and a
// hash weaker than the defaults is a warning, since a stolen configuration
// file would let an attacker guess that password faster.
func (p *Provider) Diagnose(context.Context) []check.Result {
	var out []check.Result
	kinds := map[string]int{}
	for _, u := range p.cfg.Users {
		h := p.users[p.cfg.normalize(u.Username)].hash
		kind, weak := describeHash(h)
		kinds[kind]++
		if weak != "" {
			out = append(out, check.Warning(fmt.Sprintf("user %q", u.Username), "password hash is "+weak,
				"create a new hash with `qlikgate hash-password` (argon2id with the default cost) and replace password_hash"))
		}
	}
	var parts []string
	for _, k := range []string{"argon2id", "bcrypt"} {
		if n := kinds[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	summary := check.Pass("users", fmt.Sprintf("%d password hashes parse (%s)", len(p.cfg.Users), strings.Join(parts, ", ")))
	return append([]check.Result{summary}, out...)
}

// describeHash names the algorithm of h and says how it is weaker than
// the defaults ("" when it is not). An argon2id hash may trade memory for
// passes, as OWASP's equivalent settings do, but not go below the default
// memory, which is what slows down guessing on GPUs.
func describeHash(h passwordHash) (kind, weak string) {
	switch h := h.(type) {
	case argon2Hash:
		d := DefaultArgon2
		if h.p.Memory < d.Memory || uint64(h.p.Memory)*uint64(h.p.Time) < uint64(d.Memory)*uint64(d.Time) {
			return "argon2id", fmt.Sprintf("argon2id with m=%d KiB, t=%d, below the default m=%d KiB, t=%d", h.p.Memory, h.p.Time, d.Memory, d.Time)
		}
		return "argon2id", ""
	case bcryptHash:
		if h.cost < minBcryptCost {
			return "bcrypt", fmt.Sprintf("bcrypt with cost %d, below %d", h.cost, minBcryptCost)
		}
		return "bcrypt", ""
	}
	return fmt.Sprintf("%T", h), ""
}
