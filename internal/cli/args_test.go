package cli

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseArgsFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		verdict string
		json    bool
		rest    []string
	}{
		{[]string{"exported-logs.txt", "--verdict", "lost:handler,lost:streaming"}, "lost:handler,lost:streaming", false, []string{"exported-logs.txt"}},
		{[]string{"a.log", "--json", "b.log", "--verdict=lost"}, "lost", true, []string{"a.log", "b.log"}},
		{[]string{"--verdict", "lost", "-", "--json"}, "lost", true, []string{"-"}},
		{[]string{"a.log", "--", "--json"}, "", false, []string{"a.log", "--json"}},
		{nil, "", false, nil},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		verdict := fs.String("verdict", "", "")
		asJSON := fs.Bool("json", false, "")
		rest, err := parseArgs(fs, tc.args)
		if err != nil || *verdict != tc.verdict || *asJSON != tc.json || !slices.Equal(rest, tc.rest) {
			t.Errorf("%q: verdict %q json %v rest %q err %v; want %q %v %q", tc.args, *verdict, *asJSON, rest, err, tc.verdict, tc.json, tc.rest)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var u usageError
	if _, err := parseArgs(fs, []string{"a.log", "--nope"}); !errors.As(err, &u) {
		t.Errorf("an unknown flag after a file: %v, want a usage error", err)
	}
}
