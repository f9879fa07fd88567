package telemetry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkParseBatch decodes each recorded batch under testdata, as the listener does for
// every POST from the Telemetry API.
func BenchmarkParseBatch(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "batch-*.json"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no recorded batches: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "batch-"), ".json")
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseBatch(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
