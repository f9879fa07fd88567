package lograte

import "testing"

func TestDue(t *testing.T) {
	for n, want := range map[uint64]bool{1: true, 2: false, 10: true, 11: false, 100: true, 1000: true, 1010: false, 0: false, 20: false} {
		if Due(n) != want {
			t.Errorf("Due(%d) = %v", n, !want)
		}
	}
}
