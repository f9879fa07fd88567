package steps

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

// counter returns a different value each time it is encoded, as a stateful MarshalJSON
// can: encoding it once more to count its bytes would change what the caller gets.
type counter struct{ n *int }

func (c counter) MarshalJSON() ([]byte, error) {
	*c.n++
	return json.Marshal(*c.n)
}

type textKey string

func (k textKey) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(k))), nil }

// TestWrapNeverCallsTheFunctionsMarshalers is issue 18's fourth case for Go: Wrap must not
// encode a result holding a MarshalJSON of the function's own, wherever it sits, so the
// runtime's own encoding is the first and only call.
func TestWrapNeverCallsTheFunctionsMarshalers(t *testing.T) {
	n := 0
	c := counter{&n}
	type nested struct {
		Items []any `json:"items"`
	}
	cases := map[string]any{
		"value":             c,
		"pointer":           &c,
		"in a struct":       struct{ C counter }{c},
		"in an interface":   nested{Items: []any{1, "x", c}},
		"in a map":          map[string]any{"a": map[string]any{"b": c}},
		"as a map key type": map[textKey]int{"a": 1},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSink(t)
			w := Wrap("handler", result(v, nil))
			if _, err := w(invokeCtx("rid-1"), nil); err != nil {
				t.Fatal(err)
			}
			s.lines(t, 0)
			if n != 0 {
				t.Fatalf("Wrap called the function's MarshalJSON %d times", n)
			}
		})
	}
}

func TestPureJSON(t *testing.T) {
	type plain struct {
		When  time.Time       `json:"when"`
		Big   *big.Int        `json:"big"`
		Raw   json.RawMessage `json:"raw"`
		Bytes []byte          `json:"bytes"`
		inner counter         // unexported: never encoded
	}
	_ = plain{}.inner
	for _, v := range []any{nil, 1, "s", plain{Big: big.NewInt(1)}, map[string]any{"a": []any{1.5, true, nil}}, &plain{}} {
		if !pureJSON(v) {
			t.Errorf("pureJSON(%#v) = false, want true (no code of the function's own runs)", v)
		}
	}
	big := make([]any, pureJSONLimit+1)
	if pureJSON(big) {
		t.Error("a result past the visit limit is reported pure; want it left unmeasured")
	}
}
