package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// revocationConfig is a cookie-store session configuration keeping its
// revocations in dir/name.
func revocationConfig(dir, name string, lifetime time.Duration) SessionConfig {
	return SessionConfig{Store: "cookie", Lifetime: lifetime, RevocationFile: filepath.Join(dir, name)}
}

// readRevocationFile returns the file's entries, failing on anything that
// is not a complete file.
func readRevocationFile(t *testing.T, path string) map[string]revocation {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f revocationFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != revocationFileVersion {
		t.Fatalf("the file is not a complete revocation list (%v): %q", err, data)
	}
	return f.Revoked
}

func openList(t *testing.T, cfg SessionConfig) *revocationList {
	t.Helper()
	s, err := OpenState(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s.revocations
}

func TestRevocationsExpireWithTheirSession(t *testing.T) {
	cfg := revocationConfig(t.TempDir(), "revoked.json", time.Hour)
	l := openList(t, cfg)
	t0 := time.Unix(1_700_000_000, 0)
	ctx := context.Background()
	steps := []struct {
		sid      string
		auth     time.Duration // after t0
		now      time.Duration
		lifetime time.Duration // configured before the step; 0 keeps it
		want     []string      // revoked afterwards
		gone     []string
	}{
		{sid: "a", auth: 0, now: 10 * time.Minute, want: []string{"a"}},
		{sid: "b", auth: 30 * time.Minute, now: 40 * time.Minute, want: []string{"a", "b"}},
		// a's session ended at t0+1h: pruned by the next sign-out.
		{sid: "c", auth: 50 * time.Minute, now: 61 * time.Minute, want: []string{"b", "c"}, gone: []string{"a"}},
		// A reload lengthens the lifetime: b's session lasts until t0+2h30
		// now, so its entry must too, past its end at sign-out.
		{sid: "d", auth: 60 * time.Minute, now: 100 * time.Minute, lifetime: 2 * time.Hour, want: []string{"b", "c", "d"}},
		{sid: "e", auth: 140 * time.Minute, now: 151 * time.Minute, want: []string{"c", "d", "e"}, gone: []string{"b"}},
	}
	for _, st := range steps {
		if st.lifetime != 0 {
			cfg.Lifetime = st.lifetime
			if err := l.use(cfg, nil, t0.Add(st.now)); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.revoke(ctx, st.sid, t0.Add(st.auth), t0.Add(st.now)); err != nil {
			t.Fatalf("revoke %s: %v", st.sid, err)
		}
		onDisk := readRevocationFile(t, cfg.RevocationFile)
		if len(onDisk) != len(st.want) {
			t.Errorf("after %s: %d entries in the file, want %d (%v)", st.sid, len(onDisk), len(st.want), st.want)
		}
		for _, sid := range st.want {
			if !l.revoked(sid) {
				t.Errorf("after %s: %s is not revoked", st.sid, sid)
			}
			if _, ok := onDisk[revocationKey(sid)]; !ok {
				t.Errorf("after %s: %s is not in the file", st.sid, sid)
			}
		}
		for _, sid := range st.gone {
			if l.revoked(sid) {
				t.Errorf("after %s: %s is still listed after its session ended", st.sid, sid)
			}
		}
	}
	if d := readRevocationFile(t, cfg.RevocationFile)[revocationKey("e")]; d.Auth != t0.Add(140*time.Minute).Unix() || d.Until != t0.Add(260*time.Minute).Unix() {
		t.Errorf("e is stored as %+v, want its sign-in and its end under the 2h lifetime", d)
	}
	raw, _ := os.ReadFile(cfg.RevocationFile)
	if strings.Contains(string(raw), `"e"`) || strings.Contains(string(raw), `"d"`) {
		t.Errorf("the file holds session ids rather than their hashes: %s", raw)
	}
}

// TestRevocationFileWrittenAtomically: readers polling the file while
// sign-outs rewrite it always find a complete list, never a part; no
// temporary file is left; the file is 0600.
func TestRevocationFileWrittenAtomically(t *testing.T) {
	dir := t.TempDir()
	cfg := revocationConfig(dir, "revoked.json", time.Hour)
	l := openList(t, cfg)
	// Large enough that a plain rewrite would be seen half-written.
	now := time.Now()
	for i := range 2000 {
		l.entries[revocationKey(fmt.Sprint("pre", i))] = revocation{Auth: now.Unix(), Until: now.Add(time.Hour).Unix()}
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var torn sync.Map
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				data, err := os.ReadFile(cfg.RevocationFile)
				var f revocationFile
				if err != nil || json.Unmarshal(data, &f) != nil {
					torn.Store(len(data), err)
				}
			}
		})
	}
	for i := range 50 {
		if err := l.revoke(context.Background(), fmt.Sprint("s", i), now, now); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	readers.Wait()
	torn.Range(func(k, v any) bool {
		t.Errorf("a reader found a file that is not a complete list (%v bytes, %v)", k, v)
		return true
	})
	if got := len(readRevocationFile(t, cfg.RevocationFile)); got != 2050 {
		t.Errorf("%d entries in the file, want 2050", got)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 {
		t.Errorf("the directory holds %v, want the list alone", names)
	}
	if fi, err := os.Stat(cfg.RevocationFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file's mode is %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

func TestRevocationFileProblemsNameTheKey(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(path string) error
		want    string
	}{
		{"corrupt", func(p string) error { return os.WriteFile(p, []byte(`{"version":1,"revoked":{"x":`), 0o600) }, "is not a qlikgate revocation list"},
		{"not JSON", func(p string) error { return os.WriteFile(p, []byte("hello"), 0o600) }, "is not a qlikgate revocation list"},
		{"other version", func(p string) error { return os.WriteFile(p, []byte(`{"version":9,"revoked":{}}`), 0o600) }, "version 9, want 1"},
		{"unreadable", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory"},
		{"directory missing", func(p string) error { return os.Remove(filepath.Dir(p)) }, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := revocationConfig(t.TempDir(), "revoked.json", time.Hour)
			if err := tt.prepare(cfg.RevocationFile); err != nil {
				t.Fatal(err)
			}
			_, err := OpenState(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "session.revocation_file: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("OpenState: %v, want an error naming session.revocation_file with %q", err, tt.want)
			}
		})
	}
}

func TestRevocationFileMissingIsAnEmptyList(t *testing.T) {
	cfg := revocationConfig(t.TempDir(), "revoked.json", time.Hour)
	l := openList(t, cfg)
	if l.revoked("x") {
		t.Error("a new list revokes a session")
	}
	// Written at once, so that a directory qlikgate cannot write in fails
	// the start, not the first sign-out.
	if got := readRevocationFile(t, cfg.RevocationFile); len(got) != 0 {
		t.Errorf("the new file holds %v", got)
	}
}

// TestConcurrentRevocationsAllPersisted: sign-outs from many goroutines
// at once all reach the file, and a restart (a new State on it) refuses
// every one of them.
func TestConcurrentRevocationsAllPersisted(t *testing.T) {
	cfg := revocationConfig(t.TempDir(), "revoked.json", time.Hour)
	l := openList(t, cfg)
	now := time.Now()
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := l.revoke(context.Background(), fmt.Sprint("sid-", i), now, now); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	restarted := openList(t, cfg)
	for i := range n {
		if sid := fmt.Sprint("sid-", i); !restarted.revoked(sid) {
			t.Errorf("%s is not revoked after a restart", sid)
		}
	}
	if got := len(readRevocationFile(t, cfg.RevocationFile)); got != n {
		t.Errorf("%d entries in the file, want %d", got, n)
	}
}

// TestRevocationFileMovedOnReload: a reload naming another file reads it,
// keeps what was in memory, and writes both there; later sign-outs go
// there. A reload naming a broken file fails and the running file stays.
func TestRevocationFileMovedOnReload(t *testing.T) {
	dir := t.TempDir()
	first, second, broken := revocationConfig(dir, "first.json", time.Hour), revocationConfig(dir, "second.json", time.Hour), revocationConfig(dir, "broken.json", time.Hour)
	now := time.Now()
	other := openList(t, second)
	if err := other.revoke(context.Background(), "from-second", now, now); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken.RevocationFile, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := openList(t, first)
	if err := l.revoke(context.Background(), "from-first", now, now); err != nil {
		t.Fatal(err)
	}
	if err := l.use(broken, nil, now); err == nil || !strings.Contains(err.Error(), "session.revocation_file") {
		t.Fatalf("a broken file on reload: %v", err)
	}
	if err := l.revoke(context.Background(), "after-broken", now, now); err != nil {
		t.Fatal(err)
	}
	if _, ok := readRevocationFile(t, first.RevocationFile)[revocationKey("after-broken")]; !ok {
		t.Error("after a refused reload the sign-out did not go to the running file")
	}
	if err := l.use(second, nil, now); err != nil {
		t.Fatal(err)
	}
	if err := l.revoke(context.Background(), "after-move", now, now); err != nil {
		t.Fatal(err)
	}
	onDisk := readRevocationFile(t, second.RevocationFile)
	for _, sid := range []string{"from-first", "after-broken", "from-second", "after-move"} {
		if !l.revoked(sid) {
			t.Errorf("%s is not revoked after the move", sid)
		}
		if _, ok := onDisk[revocationKey(sid)]; !ok {
			t.Errorf("%s is not in the new file", sid)
		}
	}
}

// TestRevocationWriteFailureStillRefuses: when the file cannot be written
// at sign-out, the error names the key and this process still refuses the
// session.
func TestRevocationWriteFailureStillRefuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l := openList(t, revocationConfig(dir, "revoked.json", time.Hour))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err := l.revoke(context.Background(), "s", now, now)
	if err == nil || !strings.HasPrefix(err.Error(), "session.revocation_file: ") {
		t.Fatalf("revoke into a removed directory: %v", err)
	}
	if !l.revoked("s") {
		t.Error("a sign-out that could not be written is not refused in memory")
	}
}

// TestRevocationsBounded: past maxRevocations the entry ending soonest
// makes room, so the list cannot grow without bound.
func TestRevocationsBounded(t *testing.T) {
	l := newRevocationList(false)
	l.lifetime = time.Hour
	now := time.Now()
	for i := range maxRevocations {
		l.entries[revocationKey(fmt.Sprint(i))] = revocation{Auth: now.Unix(), Until: now.Add(time.Hour).Unix() + int64(i)}
	}
	if err := l.revoke(context.Background(), "new", now, now); err != nil {
		t.Fatal(err)
	}
	if len(l.entries) != maxRevocations || !l.revoked("new") || l.revoked("0") || !l.revoked("1") {
		t.Errorf("%d entries; new %v, soonest %v, next %v", len(l.entries), l.revoked("new"), l.revoked("0"), l.revoked("1"))
	}
}

// TestRevocationKeyUnchanged pins the key's form: revocation files written
// before revoked hashed into a stack buffer must still match.
func TestRevocationKeyUnchanged(t *testing.T) {
	for _, sid := range []string{"", "e", strings.Repeat("s", 43), strings.Repeat("long", 40)} {
		h := sha256.Sum256([]byte("qlikgate revoked session\x00" + sid))
		want := base64.RawURLEncoding.EncodeToString(h[:])
		if got := revocationKey(sid); got != want {
			t.Errorf("revocationKey(%q) = %q, want %q", sid, got, want)
		}
		l := &revocationList{entries: map[string]revocation{want: {}}}
		if !l.revoked(sid) {
			t.Errorf("revoked(%q) = false for an entry under its key", sid)
		}
	}
}
