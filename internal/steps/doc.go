// Package steps receives step lines (the protocol is github.com/bodytrace/bodytrace/steps/line):
// the datagram listener on the extension's step port, and the counter that feeds each line
// to the invocation loop, counts what it rejects and rate-limits its warnings.
package steps
