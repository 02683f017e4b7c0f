package web

import (
	"time"
)

// State is what qlikgate keeps beyond one Server: a configuration reload
// builds a new Server but must not forget who signed out or how many
// wrong passwords a user just tried, so main opens one State and passes it
// to every Server it builds. What must survive a restart too is persisted
// by the State's stores.
type State struct {
	// revocations are the signed-out sessions of the cookie store.
	revocations *revocationList
	// attempts are the login attempts of the memory throttle store
	// (session.store: redis counts in Redis instead). They are not
	// persisted: a restart forgets them, as it always has; a reload must
	// not, or SIGHUP would hand every attacker a fresh max_attempts.
	attempts *memoryAttempts
}

// maxMemoryAttempts bounds the memory throttle store (keys, not attempts).
const maxMemoryAttempts = 100_000

// OpenState opens the state that cfg describes: the revocation list in
// session.revocation_file (with the cookie store). A missing file is an
// empty list; a file that cannot be read, understood or written is an
// error naming the key.
func OpenState(cfg SessionConfig) (*State, error) {
	s := &State{revocations: newRevocationList(true), attempts: newMemoryAttempts(maxMemoryAttempts)}
	if err := s.revocations.use(cfg, nil, time.Now()); err != nil {
		return nil, err
	}
	return s, nil
}

// newMemoryState is a State that persists nothing: what a Server built
// without one (tests, embedders) gets.
func newMemoryState() *State {
	return &State{revocations: newRevocationList(false), attempts: newMemoryAttempts(maxMemoryAttempts)}
}
