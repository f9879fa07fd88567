package cli

import (
	"errors"
	"flag"
)

// parseArgs parses a subcommand's flags wherever they sit on the line, as the docs write
// them (`bodytrace FILE --verdict lost`), and returns the other arguments in order. The
// standard flag package stops at the first non-flag; this calls it again on the rest.
// "--" ends the flags: what follows is taken as it is. -help passes through as
// flag.ErrHelp, any other mistake becomes a usageError.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if consumed := args[:len(args)-len(left)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(rest, left...), nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}
