package invocation

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// ResultScanner measures a buffered result as it streams past, without keeping it: the
// decoded length of an HTTP-shaped result's body (base64 included) and its small fields
// (statusCode, headers, isBase64Encoded), so a 6 MB result costs neither a 6 MB copy nor
// a full JSON decode. Its answers equal ParseBuffered's on the whole result. Feed it with
// Write; it never fails (a result it cannot read is treated as not HTTP-shaped).
type ResultScanner struct {
	state    scanState
	started  bool
	isNull   bool
	notObj   bool // the result is not a JSON object: the whole payload is the body
	broken   bool // malformed: treated like a result that is not HTTP-shaped
	nullRead int  // bytes of "null" matched so far

	key    []byte // the top-level key being read
	keyEsc bool

	// The value being passed over: kept (small fields), counted (body) or skipped.
	mode    valueMode
	depth   int
	inStr   bool
	esc     bool
	scalar  bool
	raw     []byte            // the value of a kept field
	kept    map[string][]byte // statusCode, headers, ... raw JSON
	dropped bool              // a kept field was larger than maxKept and not read
	hex     []byte            // \uXXXX digits being read in the body
	pending rune              // a high surrogate waiting for its pair

	body bodyScan
	utf  []byte // a UTF-8 sequence split across writes
}

// bodyScan is what the scanner learns of the body string as it passes.
type bodyScan struct {
	seen   bool
	isStr  bool
	bytes  int64 // decoded UTF-8 bytes
	b64    int64 // base64 characters (newlines skipped)
	pad    int64
	badB64 bool
	null   bool // "body": null, which encoding/json reads as no body
	// head holds the first headRawMax decoded bytes, tail the last ones (a ring indexed
	// by position), repl the U+FFFD characters: the evidence integrity.go judges.
	head [headRawMax]byte
	tail [tailRing]byte
	repl int64
}

// tailRing is the size of the ring that keeps the body string's last bytes: a power of
// two no smaller than tailRawMax.
const tailRing = 32

// noteRun records a run of plain bytes that ends at decoded position end.
func (b *bodyScan) noteRun(run []byte, end int64) {
	start := end - int64(len(run))
	if start < headRawMax {
		copy(b.head[start:], run)
	}
	if len(run) > tailRing {
		run = run[len(run)-tailRing:]
		start = end - tailRing
	}
	for j, c := range run {
		b.tail[(start+int64(j))&(tailRing-1)] = c
	}
}

// noteByte records one decoded byte of the body and counts it.
func (b *bodyScan) noteByte(c byte) {
	if b.bytes < headRawMax {
		b.head[b.bytes] = c
	}
	b.tail[b.bytes&(tailRing-1)] = c
	b.bytes++
}

// evidence returns the body string's first and last kept bytes.
func (b *bodyScan) evidence() (head, tail []byte) {
	head = b.head[:min(b.bytes, headRawMax)]
	n := min(b.bytes, tailRawMax)
	tail = make([]byte, n)
	for j := range n {
		tail[j] = b.tail[(b.bytes-n+j)&(tailRing-1)]
	}
	return head, tail
}

type scanState uint8

const (
	sBefore scanState = iota // before the first byte of the value
	sKeyOrEnd
	sKey
	sColon
	sValueStart
	sValue
	sCommaOrEnd
	sDone
)

type valueMode uint8

const (
	mSkip valueMode = iota
	mKeep
	mBody
)

// canonicalField returns the httpResult field a key names, matched without regard to
// case as encoding/json does, or the key itself.
func canonicalField(key []byte) string {
	for _, f := range [...]string{"body", "statusCode", "headers", "multiValueHeaders", "isBase64Encoded"} {
		if bytes.EqualFold(key, []byte(f)) {
			return f
		}
	}
	return string(key)
}

// keptFields are the small fields of an HTTP-shaped result bodytrace reads.
var keptFields = map[string]bool{"statusCode": true, "headers": true, "multiValueHeaders": true, "isBase64Encoded": true}

// maxKept caps each kept field: headers are small; a huge one is simply not read.
const maxKept = 16 << 10

// Write feeds the next bytes of the result.
func (s *ResultScanner) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		if s.plainBody() {
			n := s.bodyRun(p[i:])
			if n > 0 {
				s.body.noteRun(p[i:i+n], s.body.bytes)
			}
			i += n
			if i >= len(p) {
				break
			}
		}
		s.step(p[i])
		i++
	}
	return len(p), nil
}

// plainBody reports whether the scanner is inside the body string with nothing pending,
// where bodyRun can take a run of plain bytes at once.
func (s *ResultScanner) plainBody() bool {
	return s.state == sValue && s.mode == mBody && s.inStr && s.depth == 0 &&
		!s.esc && len(s.hex) == 0 && len(s.utf) == 0 && s.pending == 0
}

// b64class sorts ASCII for base64: 1 alphabet, 2 padding, 3 line break, 0 anything else
// (so eight bytes AND to 1 only when all are alphabet).
var b64class = func() (t [256]uint8) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = 1
	}
	t['='], t['\r'], t['\n'] = 2, 3, 3
	return t
}()

// bodyRun counts the plain bytes at the start of p (up to a quote, a backslash or a byte
// that does not start a whole, valid UTF-8 sequence) as body characters: the hot path of
// a 6 MB body. Eight bytes go at a time where that is safe: words of base64 alphabet
// while the body may still be base64, and a search for the run's end once it cannot be.
func (s *ResultScanner) bodyRun(p []byte) int {
	b := &s.body
	i := 0
	for i < len(p) {
		switch {
		case b.badB64:
			n := plainWords(p[i:])
			b.bytes += int64(n)
			i += n
		case b.pad == 0:
			n := alphabetWords(p[i:])
			b.bytes += int64(n)
			b.b64 += int64(n)
			i += n
		}
		if i == len(p) {
			break
		}
		c := p[i]
		if c == '"' || c == '\\' {
			break
		}
		if c >= utf8.RuneSelf {
			// Whole, valid UTF-8 passes as it is; a sequence that is cut or invalid goes the
			// byte-at-a-time way, which decodes it as encoding/json does.
			r, n := utf8.DecodeRune(p[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			if r == utf8.RuneError {
				b.repl++
			}
			b.badB64 = true // not base64 alphabet
			b.bytes += int64(n)
			i += n
			continue
		}
		switch b64class[c] {
		case 1:
			if b.pad > 0 {
				b.badB64 = true
			}
			b.b64++
		case 2:
			b.pad++
			b.b64++
		case 3:
		default:
			b.badB64 = true
		}
		b.bytes++
		i++
	}
	return i
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainWords returns the length of the leading 8-byte words of p holding no quote, no
// backslash and no non-ASCII byte.
func plainWords(p []byte) int {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		w := binary.LittleEndian.Uint64(p[i:])
		if w&highs|zeroByte(w^(ones*'"'))|zeroByte(w^(ones*'\\')) != 0 {
			break
		}
	}
	return i
}

// zeroByte is non-zero when one of w's bytes is zero (for bytes below 0x80).
func zeroByte(w uint64) uint64 { return (w - ones) &^ w & highs }

// alphabetWords returns the length of the leading 8-byte words of p made only of the
// base64 alphabet.
func alphabetWords(p []byte) int {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		q := p[i : i+8 : i+8]
		if b64class[q[0]]&b64class[q[1]]&b64class[q[2]]&b64class[q[3]]&
			b64class[q[4]]&b64class[q[5]]&b64class[q[6]]&b64class[q[7]] != 1 {
			break
		}
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *ResultScanner) step(c byte) {
	switch s.state {
	case sDone:
		if !isSpace(c) {
			s.broken = true
		}
	case sBefore:
		if isSpace(c) && !s.started {
			return
		}
		if !s.started {
			s.started = true
			switch c {
			case '{':
				s.kept = map[string][]byte{}
				s.state = sKeyOrEnd
			case 'n':
				s.isNull, s.nullRead = true, 1
			default:
				s.notObj = true
				s.state = sDone
				s.broken = false
			}
			return
		}
		// Reading "null".
		if s.nullRead < 4 && c == "null"[s.nullRead] {
			s.nullRead++
			if s.nullRead == 4 {
				s.state = sDone
			}
			return
		}
		s.isNull, s.notObj, s.state = false, true, sDone
	case sKeyOrEnd:
		switch {
		case isSpace(c):
		case c == '"':
			s.key, s.keyEsc, s.state = s.key[:0], false, sKey
		case c == '}':
			s.state = sDone
		default:
			s.fail()
		}
	case sKey:
		switch {
		case s.keyEsc:
			s.keyEsc = false
			s.key = append(s.key, '\\', c)
		case c == '\\':
			s.keyEsc = true
		case c == '"':
			s.state = sColon
		default:
			if len(s.key) < 64 {
				s.key = append(s.key, c)
			}
		}
	case sColon:
		switch {
		case isSpace(c):
		case c == ':':
			s.state = sValueStart
		default:
			s.fail()
		}
	case sValueStart:
		if isSpace(c) {
			return
		}
		// encoding/json matches field names without regard to case: so does the scanner.
		k := canonicalField(s.key)
		s.key = append(s.key[:0], k...)
		s.mode, s.depth, s.inStr, s.esc, s.scalar, s.raw = mSkip, 0, false, false, false, s.raw[:0]
		switch {
		case k == "body":
			s.mode = mBody
			s.body = bodyScan{seen: true}
			s.hex, s.pending, s.utf = s.hex[:0], 0, s.utf[:0]
		case keptFields[k]:
			s.mode = mKeep
		}
		s.state = sValue
		s.valueByte(c, true)
	case sValue:
		s.valueByte(c, false)
	case sCommaOrEnd:
		switch {
		case isSpace(c):
		case c == ',':
			s.state = sKeyOrEnd
		case c == '}':
			s.state = sDone
		default:
			s.fail()
		}
	}
}

func (s *ResultScanner) fail() {
	s.broken = true
	s.state = sDone
}

// valueByte passes one byte of a top-level value.
func (s *ResultScanner) valueByte(c byte, first bool) {
	if first {
		switch c {
		case '"':
			s.inStr = true
			if s.mode == mBody {
				s.body.isStr = true
			}
		case 'n':
			s.scalar = true
			if s.mode == mBody {
				s.body.null = true
			}
			s.keep(c)
			return
		case '{', '[':
			s.depth = 1
		default:
			s.scalar = true
		}
		s.keep(c)
		return
	}
	if s.scalar {
		if c == ',' || c == '}' || isSpace(c) {
			s.endValue()
			s.step(c) // the delimiter belongs to the object
			return
		}
		s.keep(c)
		return
	}
	if s.inStr {
		if s.mode == mBody && s.depth == 0 {
			s.bodyByte(c)
			return
		}
		s.keep(c)
		switch {
		case s.esc:
			s.esc = false
		case c == '\\':
			s.esc = true
		case c == '"':
			s.inStr = false
			if s.depth == 0 {
				s.endValue()
			}
		}
		return
	}
	s.keep(c)
	switch c {
	case '"':
		s.inStr = true
	case '{', '[':
		s.depth++
	case '}', ']':
		s.depth--
		if s.depth == 0 {
			s.endValue()
		}
	}
}

func (s *ResultScanner) keep(c byte) {
	if s.mode == mKeep && len(s.raw) <= maxKept {
		s.raw = append(s.raw, c)
	}
}

func (s *ResultScanner) endValue() {
	if s.mode == mKeep && len(s.raw) <= maxKept {
		s.kept[string(s.key)] = append([]byte(nil), s.raw...)
	} else if s.mode == mKeep {
		s.dropped = true
	}
	if s.mode == mBody && s.pending != 0 {
		s.rune(utf8.RuneError)
	}
	s.state = sCommaOrEnd
}

// bodyByte decodes one byte of the body string, counting the bytes it decodes to.
func (s *ResultScanner) bodyByte(c byte) {
	switch {
	case len(s.hex) > 0 || (s.esc && c == 'u'):
		if s.esc {
			s.esc = false
			s.hex = append(s.hex[:0], 'u')
			return
		}
		s.hex = append(s.hex, c)
		if len(s.hex) < 5 {
			return
		}
		var r rune
		for _, h := range s.hex[1:] {
			r <<= 4
			switch {
			case h >= '0' && h <= '9':
				r |= rune(h - '0')
			case h >= 'a' && h <= 'f':
				r |= rune(h-'a') + 10
			case h >= 'A' && h <= 'F':
				r |= rune(h-'A') + 10
			default:
				s.fail()
				return
			}
		}
		s.hex = s.hex[:0]
		s.escapedRune(r)
	case s.esc:
		s.esc = false
		s.flushSurrogate() // only \u can pair with a waiting high surrogate
		switch c {
		case '"', '\\', '/':
			s.rune(rune(c))
		case 'b':
			s.rune('\b')
		case 'f':
			s.rune('\f')
		case 'n':
			s.rune('\n')
		case 'r':
			s.rune('\r')
		case 't':
			s.rune('\t')
		default:
			s.fail()
		}
	case c == '\\':
		s.esc = true
	case c == '"':
		s.flushSurrogate()
		if len(s.utf) > 0 {
			s.invalidUTF8()
		}
		s.inStr = false
		s.endValue()
	default:
		s.flushSurrogate()
		s.rawByte(c)
	}
}

// escapedRune handles a \uXXXX escape, pairing surrogates as encoding/json does.
func (s *ResultScanner) escapedRune(r rune) {
	if s.pending != 0 {
		hi := s.pending
		s.pending = 0
		if r >= 0xDC00 && r <= 0xDFFF {
			s.rune(((hi - 0xD800) << 10) + (r - 0xDC00) + 0x10000)
			return
		}
		s.rune(utf8.RuneError)
	}
	if r >= 0xD800 && r <= 0xDBFF {
		s.pending = r
		return
	}
	if r >= 0xDC00 && r <= 0xDFFF {
		r = utf8.RuneError
	}
	s.rune(r)
}

func (s *ResultScanner) flushSurrogate() {
	if s.pending != 0 {
		s.pending = 0
		s.rune(utf8.RuneError)
	}
}

// rawByte takes an unescaped byte of the body string: UTF-8 passes as is; bytes that
// start no valid sequence decode to U+FFFD, one each, as encoding/json does.
func (s *ResultScanner) rawByte(c byte) {
	if c < utf8.RuneSelf && len(s.utf) == 0 {
		s.rune(rune(c))
		return
	}
	s.utf = append(s.utf, c)
	for len(s.utf) > 0 && utf8.FullRune(s.utf) {
		r, n := utf8.DecodeRune(s.utf)
		s.rune(r)
		s.utf = append(s.utf[:0], s.utf[n:]...)
	}
}

// invalidUTF8 ends the string with a cut sequence: each byte left is one U+FFFD.
func (s *ResultScanner) invalidUTF8() {
	for range s.utf {
		s.rune(utf8.RuneError)
	}
	s.utf = s.utf[:0]
}

// rune counts one decoded character of the body, for its length and as base64.
func (s *ResultScanner) rune(r rune) {
	if r < utf8.RuneSelf {
		s.body.noteByte(byte(r))
	} else {
		var buf [utf8.UTFMax]byte
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			s.body.noteByte(c)
		}
		if r == utf8.RuneError {
			s.body.repl++
		}
	}
	switch {
	case r == '\r' || r == '\n':
		// base64's decoder skips line breaks
	case r == '=':
		s.body.pad++
		s.body.b64++
	case s.body.pad > 0:
		s.body.badB64 = true // data after padding
	case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '+', r == '/':
		s.body.b64++
	default:
		s.body.badB64 = true
	}
}

// Apply fills the response's HTTP fields and body length from what was scanned, as
// ParseBuffered would from the whole result.
func (s *ResultScanner) Apply(r *Response, trigger Trigger) {
	r.BodyBytes = r.WireBytes
	switch {
	case s.isNull && s.state == sDone && !s.broken:
		r.BodyBytes = 0
		if trigger.HTTP() {
			r.HTTP, r.StatusCode = true, 200
		}
		return
	case s.notObj || s.broken || s.state != sDone || s.kept == nil:
		s.notShaped(r, trigger)
		return
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for k, v := range s.kept {
		if !first {
			b.WriteByte(',')
		}
		first = false
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	var h httpResult
	if json.Unmarshal(b.Bytes(), &h) != nil || h.StatusCode == nil {
		s.notShaped(r, trigger)
		return
	}
	if s.body.seen && !s.body.isStr && !s.body.null {
		// A body that is neither a string nor null fails encoding/json's decode too.
		s.notShaped(r, trigger)
		return
	}
	r.setHTTP(h)
	r.HeadersUnread = s.dropped
	r.BodyBytes = 0
	if !s.body.seen || !s.body.isStr {
		return
	}
	r.BodyBytes = s.body.bytes
	head, tail := s.body.evidence()
	r.setBodyEvidence(head, tail, h.IsBase64Encoded)
	r.Replacements = s.body.repl
	if h.IsBase64Encoded {
		if s.body.badB64 || s.body.b64%4 != 0 || s.body.pad > 2 {
			r.BadBase64 = true
			return
		}
		r.BodyBytes = s.body.b64/4*3 - s.body.pad
	}
}

func (s *ResultScanner) notShaped(r *Response, trigger Trigger) {
	if trigger.HTTP() {
		r.HTTP, r.StatusCode = true, 200
	}
}
