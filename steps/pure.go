package steps

import (
	"encoding"
	"encoding/json"
	"reflect"
)

// pureJSONLimit bounds the values pureJSON visits: a result larger than this is not
// measured (counting it would cost more than it tells).
const pureJSONLimit = 10000

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// pureJSON reports whether encoding v runs no code of the function's own: no MarshalJSON
// or MarshalText outside the standard library, anywhere in the value. Such a method may
// return something else on each call (a counter, a stream, a time), so encoding the value
// once more to count its bytes could change what the caller gets, and Wrap must observe
// without side effects. The standard library's marshalers (time.Time, json.Number,
// json.RawMessage, big.Int, netip.Addr, ...; see pureMarshalers) are deterministic and
// allowed.
func pureJSON(v any) bool {
	budget := pureJSONLimit
	return pureValue(reflect.ValueOf(v), &budget)
}

func pureValue(v reflect.Value, budget *int) bool {
	if !v.IsValid() {
		return true
	}
	if *budget--; *budget < 0 {
		return false
	}
	t := v.Type()
	if customMarshaler(t) || v.CanAddr() && customMarshaler(reflect.PointerTo(t)) {
		return false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
		return pureValue(v.Elem(), budget)
	case reflect.Struct:
		for i := range v.NumField() {
			if t.Field(i).IsExported() || t.Field(i).Anonymous {
				if !pureValue(v.Field(i), budget) {
					return false
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !customMarshaler(t.Elem()) {
			return true // bytes are encoded as base64, no code of the function's
		}
		for i := range v.Len() {
			if !pureValue(v.Index(i), budget) {
				return false
			}
		}
	case reflect.Map:
		if customMarshaler(t.Key()) {
			return false
		}
		it := v.MapRange()
		for it.Next() {
			if !pureValue(it.Key(), budget) || !pureValue(it.Value(), budget) {
				return false
			}
		}
	}
	return true
}

// pureMarshalers are the standard library packages whose JSON and text marshalers are
// deterministic and free of side effects; a marshaler from anywhere else may not be.
var pureMarshalers = map[string]bool{
	"time": true, "encoding/json": true, "math/big": true, "net": true, "net/netip": true, "log/slog": true,
}

// customMarshaler reports whether t has a JSON or text marshaler other than those of
// pureMarshalers.
func customMarshaler(t reflect.Type) bool {
	if !t.Implements(jsonMarshaler) && !t.Implements(textMarshaler) {
		return false
	}
	named := t
	if named.Kind() == reflect.Pointer && named.Name() == "" {
		named = named.Elem()
	}
	return named.Name() == "" || !pureMarshalers[named.PkgPath()]
}
