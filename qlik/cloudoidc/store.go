package cloudoidc

import (
	"context"
	"errors"
	"sync"
	"time"
)

// grantStore keeps codes (taken once) and access tokens until they expire.
type grantStore interface {
	putCode(ctx context.Context, code string, g *grant, exp, now time.Time) error
	// takeCode returns the code's grant and forgets the code in one step.
	takeCode(ctx context.Context, code string, now time.Time) (*grant, bool, error)
	putToken(ctx context.Context, id string, g *grant, exp, now time.Time) error
	token(ctx context.Context, id string, now time.Time) (*grant, bool, error)
	revokeToken(ctx context.Context, id string) error
}

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
// It is per instance: several instances behind a load balancer share
// the Redis store instead (session.store: redis).
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

func (m *memoryStore) putCode(_ context.Context, code string, g *grant, exp, now time.Time) error {
	return m.put(m.codes, code, g, exp, now)
}

func (m *memoryStore) putToken(_ context.Context, id string, g *grant, exp, now time.Time) error {
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
func (m *memoryStore) takeCode(_ context.Context, code string, now time.Time) (*grant, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.codes[code]
	delete(m.codes, code)
	if !ok || now.After(e.exp) {
		return nil, false, nil
	}
	return e.v, true, nil
}

func (m *memoryStore) token(_ context.Context, id string, now time.Time) (*grant, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.tokens[id]
	if !ok || now.After(e.exp) {
		return nil, false, nil
	}
	return e.v, true, nil
}

func (m *memoryStore) revokeToken(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tokens, id)
	return nil
}
