package otlp

import (
	"encoding/binary"
	"math"
)

// Protobuf wire types used by the OTLP messages.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendTag(b []byte, field, wire int) []byte {
	return appendVarint(b, uint64(field)<<3|uint64(wire))
}

func appendString(b []byte, field int, s string) []byte {
	if s == "" {
		return b
	}
	b = appendTag(b, field, wireBytes)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, field int, p []byte) []byte {
	if len(p) == 0 {
		return b
	}
	b = appendTag(b, field, wireBytes)
	b = appendVarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendUint(b []byte, field int, v uint64) []byte {
	if v == 0 {
		return b
	}
	return appendVarint(appendTag(b, field, wireVarint), v)
}

func appendFixed64(b []byte, field int, v uint64) []byte {
	if v == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint64(appendTag(b, field, wireFixed64), v)
}

func appendFixed32(b []byte, field int, v uint32) []byte {
	if v == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint32(appendTag(b, field, wireFixed32), v)
}

func appendDouble(b []byte, field int, f float64) []byte {
	return binary.LittleEndian.AppendUint64(appendTag(b, field, wireFixed64), math.Float64bits(f))
}

// appendMessage appends field as an embedded message written by body. The length is not
// known until body has run, so one byte is reserved for it and the body moved along when
// the length needs more.
func appendMessage(b []byte, field int, body func([]byte) []byte) []byte {
	b = appendTag(b, field, wireBytes)
	at := len(b)
	b = append(b, 0)
	b = body(b)
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	size := len(appendVarint(nil, uint64(n)))
	b = append(b, make([]byte, size-1)...)
	copy(b[at+size:], b[at+1:at+1+n])
	appendVarint(b[at:at], uint64(n))
	return b
}

// consumeVarint reads a varint; n is 0 when b holds none.
func consumeVarint(b []byte) (v uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// fields walks the top-level fields of a message, calling f with each field's number,
// wire type and, for length-delimited fields, its bytes (the varint value otherwise). It
// stops at the first malformed field.
func fields(b []byte, f func(field, wire int, v uint64, p []byte)) {
	for len(b) > 0 {
		tag, n := consumeVarint(b)
		if n == 0 {
			return
		}
		b = b[n:]
		field, wire := int(tag>>3), int(tag&7)
		switch wire {
		case wireVarint:
			v, n := consumeVarint(b)
			if n == 0 {
				return
			}
			f(field, wire, v, nil)
			b = b[n:]
		case wireFixed64:
			if len(b) < 8 {
				return
			}
			f(field, wire, binary.LittleEndian.Uint64(b), nil)
			b = b[8:]
		case wireFixed32:
			if len(b) < 4 {
				return
			}
			f(field, wire, uint64(binary.LittleEndian.Uint32(b)), nil)
			b = b[4:]
		case wireBytes:
			l, n := consumeVarint(b)
			if n == 0 || uint64(len(b)-n) < l {
				return
			}
			f(field, wire, 0, b[n:n+int(l)])
			b = b[n+int(l):]
		default:
			return
		}
	}
}
