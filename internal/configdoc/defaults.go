package configdoc

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults walks a value of a configuration struct (as its defaults function
// returns it) the way the decoder walks the type, and returns every key's
// path under prefix with its default written for the reference. Items of
// lists show the zero value of their type: a new item starts from it. The
// map's keys are also the decoder's key set, which the reference and the
// example are checked against.
func Defaults(prefix string, v any) map[string]string {
	out := map[string]string{}
	walkValue(prefix, reflect.ValueOf(v), out, 0)
	return out
}

func walkValue(prefix string, v reflect.Value, out map[string]string, depth int) {
	if depth > maxDepth {
		return
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			if v.Kind() == reflect.Interface {
				return
			}
			v = reflect.Zero(v.Type().Elem())
			continue
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			walkValue(prefix, v.Field(i), out, depth+1)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		fv := v.Field(i)
		out[path] = FormatDefault(fv)
		if st, suffix := structBelow(f.Type); st != nil {
			if suffix == "" {
				walkValue(path, fv, out, depth+1) // a nested block keeps its own defaults
			} else {
				walkValue(path+suffix, reflect.Zero(st), out, depth+1)
			}
		}
	}
}

// structBelow returns the struct type whose keys nest under a field of type
// t, and the path suffix of its keys ("[]" for list items).
func structBelow(t reflect.Type) (reflect.Type, string) {
	suffix := ""
	for {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
			continue
		case reflect.Slice:
			t, suffix = t.Elem(), suffix+"[]"
			continue
		case reflect.Struct:
			if t == reflect.TypeFor[time.Time]() {
				return nil, ""
			}
			return t, suffix
		}
		return nil, ""
	}
}

// FormatDefault writes a default value the way it would be written in YAML,
// or "" when there is none to show (an empty string, a block).
func FormatDefault(v reflect.Value) string {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		return formatDuration(time.Duration(v.Int()))
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "unset"
		}
		return FormatDefault(v.Elem())
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice:
		if st, _ := structBelow(v.Type()); st != nil || v.Len() == 0 {
			if v.Len() == 0 {
				return "[]"
			}
			return fmt.Sprintf("%d items", v.Len())
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = FormatDefault(v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case reflect.Map:
		if v.Len() == 0 {
			return "{}"
		}
		var items []string
		for _, k := range v.MapKeys() {
			items = append(items, FormatDefault(k)+": "+FormatDefault(v.MapIndex(k)))
		}
		sort.Strings(items)
		return "{" + strings.Join(items, ", ") + "}"
	}
	return ""
}

// formatDuration writes 5m rather than Go's 5m0s, as a user would.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
