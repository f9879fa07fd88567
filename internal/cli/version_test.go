package cli

import (
	"strings"
	"testing"

	"github.com/bodytrace/bodytrace/internal/version"
)

func TestVersionFlag(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, out, errs := run(t, "", arg)
		if code != 0 || errs != "" {
			t.Errorf("%s: exit %d, stderr %q", arg, code, errs)
		}
		if want := "bodytrace " + version.String() + "\n"; out != want || strings.TrimSpace(version.String()) == "" {
			t.Errorf("%s printed %q, want %q", arg, out, want)
		}
	}
}
