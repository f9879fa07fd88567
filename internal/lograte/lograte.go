// Package lograte decides which of a run of repeated problems is worth a log line: the
// 1st, 10th, 100th, ... so a flood stays visible without flooding the log.
package lograte

// Due reports whether the n-th occurrence (counting from 1) should be logged.
func Due(n uint64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}
