package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// sample is a set of measurements of one figure, in milliseconds unless said otherwise.
type sample []float64

func durations(ds []time.Duration) sample {
	s := make(sample, len(ds))
	for i, d := range ds {
		s[i] = float64(d.Nanoseconds()) / 1e6
	}
	return s
}

func (s sample) sorted() sample {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// q returns the q-quantile (0..1) by nearest rank; NaN when empty.
func (s sample) q(q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := s.sorted()
	i := int(math.Ceil(q*float64(len(c)))) - 1
	return c[max(0, min(i, len(c)-1))]
}

func (s sample) median() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := s.sorted()
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

func (s sample) min() float64 { return s.q(0) }
func (s sample) max() float64 { return s.q(1) }

// fmtMs formats milliseconds with a precision that suits their size.
func fmtMs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// medRange is "median (min–max)".
func (s sample) medRange() string {
	if len(s) == 0 {
		return "–"
	}
	return fmt.Sprintf("%s (%s–%s)", fmtMs(s.median()), fmtMs(s.min()), fmtMs(s.max()))
}

func mib(b float64) string {
	if math.IsNaN(b) {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", b/(1<<20))
}

func signed(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	s := fmtMs(v)
	if v >= 0 {
		s = "+" + s
	}
	return s + unit
}
