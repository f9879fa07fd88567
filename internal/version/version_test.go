package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"go install @version", debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}, "v0.2.0"},
		{"checkout, clean", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "558594f0123456789abcdef"}, {Key: "vcs.modified", Value: "false"}}}, "devel+558594f01234"},
		{"checkout, edited", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "558594f"}, {Key: "vcs.modified", Value: "true"}}}, "devel+558594f-dirty"},
		{"nothing known", debug.BuildInfo{}, "devel"},
	} {
		if got := fromBuildInfo(&tc.info); got != tc.want {
			t.Errorf("%s: fromBuildInfo = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestStampedWins(t *testing.T) {
	if String() == "" {
		t.Fatal("String() is empty without a stamp")
	}
	old := stamped
	t.Cleanup(func() { stamped = old })
	stamped = "v9.9.9"
	if got := String(); got != "v9.9.9" {
		t.Errorf("String() = %q with a stamp, want v9.9.9", got)
	}
}
