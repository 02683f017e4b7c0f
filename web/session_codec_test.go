package web

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"
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

// TestDecodeStateAgreesWithEncodingJSON: decodeState reads back whatever
// save writes exactly as encoding/json does, for a state with every field
// set, one with none, and a typical signed-in one.
func TestDecodeStateAgreesWithEncodingJSON(t *testing.T) {
	var full state
	fillAll(t, reflect.ValueOf(&full).Elem(), 1)
	full.touched = false
	for name, st := range map[string]*state{"every field": &full, "empty": {}, "signed in": benchSessionState(time.Now())} {
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
	var full state
	fillAll(f, reflect.ValueOf(&full).Elem(), 1)
	for _, st := range []*state{&full, {}, benchSessionState(time.Now())} {
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
