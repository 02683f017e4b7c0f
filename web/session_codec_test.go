package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// fillAll sets every exported field reachable from v to a value that is
// not its zero value: non-empty strings (with characters JSON escapes),
// numbers, true, two-element slices and maps, allocated pointers. A field
// added to state (or to a type inside it) later is covered without
// changing this test.
func fillAll(t testing.TB, v reflect.Value, seed int) {
	t.Helper()
	if v.Type() == reflect.TypeFor[json.RawMessage]() { // any JSON, kept as it is (a passkey ceremony)
		v.SetBytes([]byte(`{"challenge":"v` + strconv.Itoa(seed) + ` \"é","n":[1,true,null]}`))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("v" + strconv.Itoa(seed) + " \"é\\ <&> \u2028")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(1_700_000_000 + seed))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(seed + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(seed) + 0.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillAll(t, p.Elem(), seed+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(t, s.Index(i), seed*3+i)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), 2)
		for i := range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fillAll(t, k, seed*5+i)
			fillAll(t, e, seed*7+i)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillAll(t, v.Field(i), seed*11+i)
			}
		}
	default:
		t.Fatalf("fillAll: a %s in state: teach this test (and check decodeState) about it", v.Type())
	}
}

// everyField is a state with every field set (fillAll).
func everyField(t testing.TB) *state {
	t.Helper()
	var full state
	fillAll(t, reflect.ValueOf(&full).Elem(), 1)
	full.touched = false
	return &full
}

// TestDecodeStateAgreesWithEncodingJSON: decodeState reads back whatever
// save writes exactly as encoding/json does, for a state with every field
// set, one with none, and a typical signed-in one.
func TestDecodeStateAgreesWithEncodingJSON(t *testing.T) {
	full := everyField(t)
	for name, st := range map[string]*state{"every field": full, "empty": {}, "signed in": benchSessionState(time.Now())} {
		t.Run(name, func(t *testing.T) {
			raw, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			assertDecodeAgrees(t, raw)
		})
	}
}

// assertDecodeAgrees decodes raw with decodeState and with encoding/json
// and wants the same state from both.
func assertDecodeAgrees(t *testing.T, raw []byte) {
	t.Helper()
	var want, got state
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if err := decodeState(raw, &got); err != nil {
		t.Fatalf("decodeState refused what encoding/json reads: %v\n%s", err, raw)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeState read\n%+v\nencoding/json read\n%+v\nfrom %s", got, want, raw)
	}
}

// FuzzDecodeState: for any state encoding/json can express (the fuzzer's
// JSON, decoded and encoded again by encoding/json, which is what save
// writes), decodeState reads what encoding/json reads.
func FuzzDecodeState(f *testing.F) {
	full := everyField(f)
	for _, st := range []*state{full, {}, benchSessionState(time.Now())} {
		raw, _ := json.Marshal(st)
		f.Add(raw)
	}
	f.Add([]byte(`{"sid":"a\ud800b","user":{"u":"\u00e9"},"k":{"":""}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var st state
		if json.Unmarshal(in, &st) != nil {
			return
		}
		raw, err := json.Marshal(&st)
		if err != nil {
			t.Fatal(err)
		}
		assertDecodeAgrees(t, raw)
	})
}

// TestStateBinaryRoundTrip: what encodeState writes, decodeState reads back
// as the same state, for a state with every field set (fillAll: a field
// added to state later is covered, or this test fails until the codec
// knows it), one with none and a typical signed-in one; and the encoding
// is smaller than the JSON save wrote before.
func TestStateBinaryRoundTrip(t *testing.T) {
	full := everyField(t)
	// Fields JSON does not keep (json:"-"), which the encoding leaves out
	// too: a flow's entry keeps what identifies it, not the per-request
	// parts.
	for i := range full.Flows {
		e := &full.Flows[i].Entry
		e.Kept, e.MaxAge, e.NoLogin, e.NoAccess = "", nil, "", ""
	}
	for name, st := range map[string]*state{"every field": full, "empty": {}, "signed in": benchSessionState(time.Now())} {
		t.Run(name, func(t *testing.T) {
			raw := encodeState(nil, st)
			var got state
			if err := decodeState(raw, &got); err != nil {
				t.Fatalf("decodeState refused what encodeState wrote: %v", err)
			}
			if !equalStates(&got, st) {
				t.Fatalf("read back\n%+v\nfrom the encoding of\n%+v", got, *st)
			}
			js, _ := json.Marshal(st)
			if name != "empty" && len(raw) >= len(js) {
				t.Errorf("the encoding takes %d bytes, JSON %d", len(raw), len(js))
			}
		})
	}
}

// TestStateBinaryRefuses: a truncated or altered encoding, a field number
// the codec does not know, or a value of the wrong type reads as an error
// (and load then as no session), never as part of a state.
func TestStateBinaryRefuses(t *testing.T) {
	good := encodeState(nil, benchSessionState(time.Now()))
	unknownTop := append(append([]byte(nil), good...), 0x78, 0x01) // field 15, varint 1
	for name, raw := range map[string][]byte{
		"empty":                     {},
		"version only, then junk":   {stateBinaryV1, 0xff},
		"cut short":                 good[:len(good)-3],
		"unknown field":             unknownTop,
		"a string where an int is":  {stateBinaryV1, 0x22, 0x01, 'x'}, // field 4 (AuthAt), bytes
		"an int where a string is":  {stateBinaryV1, 0x08, 0x01},      // field 1 (SID), varint
		"a bool that is not 0 or 1": {stateBinaryV1, 0x60, 0x02},      // field 12 (NoNegotiate)
		"unknown field in identity": {stateBinaryV1, 0x1a, 0x02, 0x50, 0x01},
		"fixed64 wire type":         {stateBinaryV1, 0x09, 1, 2, 3, 4, 5, 6, 7, 8},
	} {
		t.Run(name, func(t *testing.T) {
			var st state
			if err := decodeStateBinary(raw, &st); err == nil {
				t.Fatalf("accepted %x as %+v", raw, st)
			}
		})
	}
}

// TestLoadReadsJSONSessions: a session that save wrote as JSON, before the
// binary encoding, still opens signed in; the next save writes it in the
// binary encoding.
func TestLoadReadsJSONSessions(t *testing.T) {
	s := benchSessionStore(t)
	st := benchSessionState(time.Now())
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	value, err := s.store.(*sealedCookies).seal(sessionName, raw)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: sessionName, Value: value})
	sess, got := s.load(r)
	if got.User == nil || got.User.UserID != "alice" || got.SID != st.SID {
		t.Fatalf("the JSON session did not open signed in: %+v", got)
	}
	w := httptest.NewRecorder()
	if err := s.save(w, r, sess, got); err != nil {
		t.Fatal(err)
	}
	if b, _ := sess.Values[stateKey].([]byte); len(b) == 0 || b[0] != stateBinaryV1 {
		t.Fatalf("save wrote %q, want the binary encoding", b)
	}
}

// FuzzStateBinary: any bytes decode without a panic; and any state (the
// fuzzer's JSON, decoded by encoding/json) survives encodeState and
// decodeState unchanged.
func FuzzStateBinary(f *testing.F) {
	full := everyField(f)
	for _, st := range []*state{full, {}, benchSessionState(time.Now())} {
		raw, _ := json.Marshal(st)
		f.Add(raw)
		f.Add(encodeState(nil, st))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var junk state
		_ = decodeStateBinary(append([]byte{stateBinaryV1}, in...), &junk)
		var st state
		if json.Unmarshal(in, &st) != nil {
			return
		}
		var got state
		if err := decodeStateBinary(encodeState(nil, &st), &got); err != nil {
			t.Fatalf("decodeState refused what encodeState wrote: %v", err)
		}
		if !equalStates(&got, &st) {
			t.Fatalf("read back\n%+v\nfrom the encoding of\n%+v", got, st)
		}
	})
}

// equalStates compares two states, with an empty slice or map equal to a
// nil one (the encoding, like JSON's omitempty, does not tell them apart).
func equalStates(a, b *state) bool {
	x, y := *a, *b
	x.touched, y.touched = false, false
	emptyToNil(reflect.ValueOf(&x).Elem())
	emptyToNil(reflect.ValueOf(&y).Elem())
	return reflect.DeepEqual(x, y)
}

func emptyToNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Type().Elem()) // a copy: the caller's state stays as it is
			c.Elem().Set(v.Elem())
			emptyToNil(c.Elem())
			v.Set(c)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			emptyToNil(c.Index(i))
		}
		v.Set(c)
	case reflect.Map:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			emptyToNil(e)
			c.SetMapIndex(k, e)
		}
		v.Set(c)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				emptyToNil(v.Field(i))
			}
		}
	}
}

// TestStateBinaryLongValues: messages whose length needs one, two and three
// bytes (appendMessage moves the body for the first and the last) read back
// whole, as a Redis-held state with long values may need.
func TestStateBinaryLongValues(t *testing.T) {
	for _, n := range []int{1, 127, 128, 16383, 16384, 70000} {
		st := &state{SID: "s", User: &providers.Identity{UserID: "u", Subject: strings.Repeat("x", n)},
			Flows: []flow{{ID: "f", Entry: qlik.Entry{ReturnTo: strings.Repeat("r", n)}}}}
		var got state
		if err := decodeState(encodeState(nil, st), &got); err != nil || !equalStates(&got, st) {
			t.Fatalf("%d-byte values did not read back (%v)", n, err)
		}
	}
}
