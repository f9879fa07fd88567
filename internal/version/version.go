// Package version says which bodytrace build is running: the release stamped in by the
// linker (scripts/release.sh, scripts/build-layer.sh), else what the Go build info knows.
package version

import (
	"runtime/debug"
	"sync"
)

// stamped is set at link time: -ldflags "-X github.com/bodytrace/bodytrace/internal/version.stamped=v0.1.0".
// It is the one package-level variable: the linker can only write to a variable.
var stamped string

// Module is the module path, the instrumentation scope of bodytrace's spans.
const Module = "github.com/bodytrace/bodytrace"

var fromBuild = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return fromBuildInfo(info)
})

// String is the running build's version: the stamped release ("v0.1.0"), else the module
// version from `go install ...@v0.1.0`, else "devel+<commit>[-dirty]" from the VCS stamp,
// else "devel".
func String() string {
	if stamped != "" {
		return stamped
	}
	return fromBuild()
}

// fromBuildInfo picks a version from the build info, as String describes.
func fromBuildInfo(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel+" + rev
}
