package static

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are the cost parameters of an argon2id hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultArgon2 follows OWASP's recommendation for argon2id (19 MiB, 2
// passes, 1 lane): about 30 ms on one core, so a login stays fast while an
// offline guess stays expensive.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// HashPassword returns an argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("static: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// passwordHash is a parsed hash that can check a password.
type passwordHash interface {
	verify(password string) bool
	// dummy returns a hash of the same algorithm and cost, used for
	// unknown users so they take as long as known ones.
	dummy() (passwordHash, error)
}

// parseHash recognises argon2id (PHC format) and bcrypt ($2a$, $2b$, $2y$).
func parseHash(s string) (passwordHash, error) {
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2(s)
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("not a valid bcrypt hash: %w", err)
		}
		return bcryptHash{hash: []byte(s), cost: cost}, nil
	case strings.HasPrefix(s, "$argon2i$"), strings.HasPrefix(s, "$argon2d$"):
		return nil, errors.New("only argon2id is accepted among argon2 variants (use `qlikgate hash-password`)")
	default:
		return nil, errors.New("not an argon2id or bcrypt hash (create one with `qlikgate hash-password`)")
	}
}

type argon2Hash struct {
	p         Argon2Params
	salt, key []byte
}

func parseArgon2(s string) (argon2Hash, error) {
	// $argon2id$v=19$m=19456,t=2,p=1$salt$key → "", "argon2id", "v=19", "m=…", salt, key
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return argon2Hash{}, errors.New("malformed argon2id hash: want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return argon2Hash{}, fmt.Errorf("unsupported argon2id version %q (want v=%d)", parts[2], argon2.Version)
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return argon2Hash{}, fmt.Errorf("malformed argon2id parameters %q", parts[3])
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 {
		return argon2Hash{}, fmt.Errorf("argon2id parameters %q are out of range", parts[3])
	}
	if p.Memory > 4*1024*1024 {
		return argon2Hash{}, fmt.Errorf("argon2id memory %d KiB is more than 4 GiB", p.Memory)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return argon2Hash{}, errors.New("malformed argon2id salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return argon2Hash{}, errors.New("malformed argon2id key")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return argon2Hash{p: p, salt: salt, key: key}, nil
}

func (h argon2Hash) verify(password string) bool {
	got := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

func (h argon2Hash) dummy() (passwordHash, error) {
	s, err := HashPassword(rand.Text(), h.p)
	if err != nil {
		return nil, err
	}
	return parseArgon2(s)
}

type bcryptHash struct {
	hash []byte
	cost int
}

func (h bcryptHash) verify(password string) bool {
	// bcrypt compares in constant time itself.
	return bcrypt.CompareHashAndPassword(h.hash, []byte(password)) == nil
}

func (h bcryptHash) dummy() (passwordHash, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), h.cost)
	if err != nil {
		return nil, err
	}
	return bcryptHash{hash: b, cost: h.cost}, nil
}
