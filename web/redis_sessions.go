package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"
)

// redisSessions is a gorilla sessions.Store that keeps each browser's state
// (the same JSON the cookie store encrypts) in Redis, so that every
// instance sharing the Redis sees the same sign-ins and a logout on one is
// a logout on all. The cookie holds only a random id and its HMAC under
// the session signing key: an id nobody issued is refused without asking
// Redis, and a new secret (without previous_secrets) ends every session,
// as it does with the cookie store.
//
// It is written here rather than taken from rbcervilla/redisstore because
// that store sends the bare id (unsigned), writes unconditionally (a
// request that was running when the user signed out elsewhere would write
// the session back), and cannot replace an id and delete the old one in
// one step.
type redisSessions struct {
	client  *redis.Client
	prefix  string // of every session key, key_prefix included
	timeout time.Duration
	signing [][]byte // HMAC keys, the current secret's first
	options sessions.Options
}

// keepIn makes s keep sessions in Redis from now on, under the same
// signing keys and cookie options as the cookie store it replaces.
func (s *sessionStore) keepIn(client *redis.Client, rc RedisConfig, log *slog.Logger) {
	rs := &redisSessions{
		client:  client,
		prefix:  rc.KeyPrefix + "session:",
		timeout: rc.Timeout,
		signing: s.signing,
		options: s.options,
	}
	s.store, s.server, s.log = rs, rs, log
}

// retiredID marks, in a session's Values, the id that the next Save must
// delete. Values other than stateKey are never written to Redis.
type retiredID struct{}

// errSessionEnded is a save of a session that was deleted while the
// request ran: signed out, on this instance or another.
var errSessionEnded = errors.New("the session ended while this request ran (signed out, or replaced by a sign-in); not written back")

// maxCookieValue bounds the work spent on a cookie: ours are 70 bytes.
const maxCookieValue = 128

// Get returns the session from the request's registry.
func (s *redisSessions) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session the request's cookie names. No cookie, a forged
// one or an id Redis does not hold gives a new, empty session that never
// takes over the browser's id: an id planted in a browser is worthless.
// Only a failing Redis is an error.
func (s *redisSessions) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := s.options
	sess.Options, sess.IsNew = &opts, true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	id, ok := s.verify(c.Value)
	if !ok {
		return sess, nil
	}
	// Not cancelled with the request: a client that hangs up at once must
	// get the same treatment as one that waits (the attempt it sent is
	// judged and counted, not dropped half way as "not signed in").
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout)
	defer cancel()
	data, err := s.client.Get(ctx, s.prefix+id).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return sess, nil
	case err != nil:
		return sess, fmt.Errorf("redis session: load: %w", err)
	}
	sess.ID, sess.IsNew = id, false
	sess.Values[stateKey] = data
	return sess, nil
}

// Save writes the session with a time to live of Options.MaxAge, or
// deletes it when MaxAge ≤ 0, and sets the cookie.
func (s *redisSessions) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	// Not cancelled with the request either: a rotation must delete the
	// retired id and a sign-out its session even when the client is gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout)
	defer cancel()
	retired, _ := sess.Values[retiredID{}].(string)
	delete(sess.Values, retiredID{})
	if sess.Options.MaxAge <= 0 {
		return s.delete(ctx, w, sess, retired)
	}
	data, _ := sess.Values[stateKey].([]byte)
	ttl := time.Duration(sess.Options.MaxAge) * time.Second
	if sess.ID != "" {
		// XX: write only over a session that still exists, so a sign-out
		// that happened meanwhile stays a sign-out. No cookie is set then:
		// the browser's own is worthless already, and when the session
		// ended because a parallel request signed in (a new id), expiring
		// the cookie here could throw that new sign-in away.
		err := s.client.SetArgs(ctx, s.prefix+sess.ID, data, redis.SetArgs{Mode: "XX", TTL: ttl}).Err()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("redis session: %w", errSessionEnded)
		}
		if err != nil {
			return fmt.Errorf("redis session: save: %w", err)
		}
	} else {
		// A new id; the one it replaces (at sign-in) goes in the same
		// transaction, so that no moment has both or neither.
		id := rand.Text()
		_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if retired != "" {
				p.Del(ctx, s.prefix+retired)
			}
			p.Set(ctx, s.prefix+id, data, ttl)
			return nil
		})
		if err != nil {
			return fmt.Errorf("redis session: save: %w", err)
		}
		sess.ID, sess.IsNew = id, false
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), s.sign(sess.ID), sess.Options))
	return nil
}

// delete removes the session (logout) and the browser's cookie. The cookie
// goes even when Redis fails, so the browser is signed out either way.
func (s *redisSessions) delete(ctx context.Context, w http.ResponseWriter, sess *sessions.Session, retired string) error {
	http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
	var keys []string
	for _, id := range []string{sess.ID, retired} {
		if id != "" {
			keys = append(keys, s.prefix+id)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if err := s.client.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("redis session: delete: %w", err)
	}
	sess.ID = ""
	return nil
}

// renew makes the next Save store the session under a new id and delete
// the current one: at sign-in, so that an id known before it (planted by
// an attacker) resolves to nothing after it.
func (s *redisSessions) renew(sess *sessions.Session) {
	if sess.ID != "" {
		sess.Values[retiredID{}] = sess.ID
	}
	sess.ID, sess.IsNew = "", true
}

// sign returns the cookie value for id: the id, a dot, and its HMAC.
func (s *redisSessions) sign(id string) string {
	return id + "." + base64.RawURLEncoding.EncodeToString(idMAC(s.signing[0], id))
}

// verify returns the id of a cookie value signed with any of the keys.
func (s *redisSessions) verify(v string) (string, bool) {
	if len(v) > maxCookieValue {
		return "", false
	}
	id, sig, ok := strings.Cut(v, ".")
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || id == "" || err != nil {
		return "", false
	}
	for _, k := range s.signing {
		if hmac.Equal(mac, idMAC(k, id)) {
			return id, true
		}
	}
	return "", false
}

// idMAC binds an id to the signing key and to this use of it.
func idMAC(key []byte, id string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("qlikgate session id\x00" + id))
	return h.Sum(nil)
}

// keepFor is how long a server-side store keeps st: a sign-in until it
// ends (its lifetime, or the idle timeout if that comes first), a browser
// without one only as long as its pending entries wait, so that visitors
// who never sign in do not fill Redis for hours.
func (s *sessionStore) keepFor(st *state) time.Duration {
	if st.User == nil {
		return flowTTL
	}
	end := time.Unix(st.AuthAt, 0).Add(s.lifetime)
	if idleEnd := time.Unix(st.SeenAt, 0).Add(s.idle); s.idle > 0 && idleEnd.Before(end) {
		end = idleEnd
	}
	return max(end.Sub(s.now()), time.Second)
}
