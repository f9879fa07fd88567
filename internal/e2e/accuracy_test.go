package e2e

import (
	"encoding/json"
	"os"
	"sync"
	"testing"
)

// accuracyRow is one invocation of a real stack whose verdict is scored in docs/accuracy.md:
// what ran, what the caller got, what the verdict should be, and what bodytrace said.
type accuracyRow struct {
	Stack     string `json:"stack"`     // e.g. "Next.js + @opennextjs/aws (aws-lambda-streaming)"
	Versions  string `json:"versions"`  // the exact package versions, e.g. "next@16.5.0 @opennextjs/aws@4.2.0"
	Node      string `json:"node"`      // Node.js major version ("22", "24"), or "go"
	Case      string `json:"case"`      // what the invocation does
	Link      string `json:"link"`      // the public issue the case reproduces ("" for a healthy twin)
	Healthy   bool   `json:"healthy"`   // a healthy twin: any lost: verdict is a false alarm
	CallerGot string `json:"callerGot"` // e.g. "200, 0 B body"
	Expected  string `json:"expected"`  // the right verdict
	Verdict   string `json:"verdict"`   // bodytrace's verdict
	Reason    string `json:"reason"`    // bodytrace's reason, when it gave one
}

var accuracyMu sync.Mutex

// recordAccuracy appends r as one JSON line to the file named by BODYTRACE_ACCURACY_OUT
// (`make accuracy` sets it and renders docs/accuracy.md from the lines); without it, it does
// nothing. Tests assert the verdict themselves: this only keeps the score.
func recordAccuracy(t *testing.T, r accuracyRow) {
	t.Helper()
	path := os.Getenv("BODYTRACE_ACCURACY_OUT")
	if path == "" {
		return
	}
	line, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	accuracyMu.Lock()
	defer accuracyMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("accuracy record: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatalf("accuracy record: %v", err)
	}
}
