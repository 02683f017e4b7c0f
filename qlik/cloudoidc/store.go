package cloudoidc

import (
	"errors"
	"sync"
	"time"
)

// maxPending bounds each memory map: an attacker who can only make codes
// by signing in cannot exhaust memory, and a burst beyond it is refused
// rather than served by dropping someone's live code.
const maxPending = 200_000

// errFull is returned when the store holds maxPending live entries.
var errFull = errors.New("too many codes or tokens pending")

// memoryStore keeps codes and access tokens in this process. Codes are
// taken (read and deleted in one step under the lock), which is what makes
// them single-use even when two token requests race.
//
// It is per instance: with several qlikgate instances behind a load
// balancer the tenant's token call must reach the instance that issued
// the code (see docs/qlik/cloud-oidc.md).
type memoryStore struct {
	mu     sync.Mutex
	codes  map[string]expiring[*grant]
	tokens map[string]expiring[*grant]
	swept  time.Time
}

type expiring[T any] struct {
	v   T
	exp time.Time
}

func newMemoryStore() *memoryStore {
	return &memoryStore{codes: map[string]expiring[*grant]{}, tokens: map[string]expiring[*grant]{}}
}

// sweep drops expired entries at most once a second; called with mu held.
func (m *memoryStore) sweep(now time.Time) {
	if now.Sub(m.swept) < time.Second && len(m.codes) < maxPending && len(m.tokens) < maxPending {
		return
	}
	m.swept = now
	for k, e := range m.codes {
		if now.After(e.exp) {
			delete(m.codes, k)
		}
	}
	for k, e := range m.tokens {
		if now.After(e.exp) {
			delete(m.tokens, k)
		}
	}
}

func (m *memoryStore) putCode(code string, g *grant, exp, now time.Time) error {
	return m.put(m.codes, code, g, exp, now)
}

func (m *memoryStore) putToken(id string, g *grant, exp, now time.Time) error {
	return m.put(m.tokens, id, g, exp, now)
}

func (m *memoryStore) put(into map[string]expiring[*grant], k string, g *grant, exp, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if len(into) >= maxPending {
		return errFull
	}
	into[k] = expiring[*grant]{g, exp}
	return nil
}

// takeCode returns the code's grant and forgets the code.
func (m *memoryStore) takeCode(code string, now time.Time) (*grant, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.codes[code]
	delete(m.codes, code)
	if !ok || now.After(e.exp) {
		return nil, false
	}
	return e.v, true
}

func (m *memoryStore) token(id string, now time.Time) (*grant, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.tokens[id]
	if !ok || now.After(e.exp) {
		return nil, false
	}
	return e.v, true
}

func (m *memoryStore) revokeToken(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tokens, id)
}
