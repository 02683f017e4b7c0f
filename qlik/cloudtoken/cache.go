package cloudtoken

import (
	"sync"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// refreshBefore is how long before expires_at a cached token is no longer
// handed out: the page uses it for a while after receiving it, and clocks
// differ. A token that lives shorter than four times this is kept for a
// quarter of its life instead.
const refreshBefore = time.Minute

// cache holds tokens by subject, at most size of them. The lock guards
// only map operations: no tenant call happens under it.
type cache struct {
	mu     sync.Mutex
	size   int
	tokens map[string]cached
}

type cached struct {
	tok   qlik.AccessToken
	until time.Time // when it stops being handed out
}

func newCache(size int) *cache { return &cache{size: size, tokens: map[string]cached{}} }

func (c *cache) get(key string, now time.Time) (qlik.AccessToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tokens[key]
	if !ok {
		return qlik.AccessToken{}, false
	}
	if !now.Before(e.until) {
		delete(c.tokens, key)
		return qlik.AccessToken{}, false
	}
	return e.tok, true
}

// put stores tok unless it is already too close to its expiry. A full
// cache first drops what is stale, then the entry that would go soonest.
func (c *cache) put(key string, tok qlik.AccessToken, now time.Time) {
	margin := refreshBefore
	if life := tok.ExpiresAt.Sub(now); life < 4*margin {
		margin = life * 3 / 4
	}
	until := tok.ExpiresAt.Add(-margin)
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tokens[key]; !ok && len(c.tokens) >= c.size {
		soonest, found := "", false
		for k, e := range c.tokens {
			if !now.Before(e.until) {
				delete(c.tokens, k)
				continue
			}
			if !found || e.until.Before(c.tokens[soonest].until) {
				soonest, found = k, true
			}
		}
		if len(c.tokens) >= c.size {
			delete(c.tokens, soonest)
		}
	}
	c.tokens[key] = cached{tok: tok, until: until}
}

func (c *cache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tokens, key)
}

// len is the number of cached entries (tests).
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tokens)
}
