package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bodytrace/bodytrace/internal/version"
)

// Streams are the command's standard streams.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

const usage = `bodytrace: where did the response body go?

Usage:
  bodytrace [read] [flags] [file ...]   print one row per invocation from summary lines
  bodytrace view [flags] [file ...]     serve a local web view of recent invocations
  bodytrace cdn [flags] [file ...]      join CloudFront access logs to invocations: edge cache or function?
  bodytrace help
  bodytrace --version

read reads the extension's summary lines from the files given, from stdin (no file, or -),
or from a CloudWatch Logs group (--log-group); every other line is skipped.
view reads the same sources, or Jaeger's query API (--jaeger), and serves
http://127.0.0.1:7476/. Run "bodytrace read -h" or "bodytrace view -h" for the flags;
they may come before or after the files.

Exit status: 0 rows printed, 1 failed, 2 bad usage, 3 no input, 4 no summary lines in the
input, 5 none matched --verdict/--since.
`

// Main runs the command with args (without the program's name) and returns the exit code:
// 0 done, 1 failed, 2 bad usage.
func Main(ctx context.Context, args []string, s Streams) int {
	cmd := "read"
	if len(args) > 0 {
		switch args[0] {
		case "read", "view":
			cmd, args = args[0], args[1:]
		case "cdn":
			return exitCode(runCDN(ctx, args[1:], s), s)
		case "help", "-h", "-help", "--help":
			fmt.Fprint(s.Stdout, usage)
			return 0
		case "version", "-version", "--version":
			fmt.Fprintln(s.Stdout, "bodytrace", version.String())
			return 0
		}
	}
	if cmd == "view" {
		return exitCode(runView(ctx, args, s), s)
	}
	return exitCode(runRead(ctx, args, s), s)
}

// exitCode reports err on stderr and returns the exit code (the Exit constants): done
// (or -help), failed, bad usage, or which kind of empty result.
func exitCode(err error, s Streams) int {
	var (
		u     usageError
		empty emptyResult
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &u):
		fmt.Fprintln(s.Stderr, "bodytrace:", err)
		return ExitUsage
	case errors.As(err, &empty):
		fmt.Fprintln(s.Stderr, "bodytrace:", err)
		return empty.code
	}
	if hint, ok := awsHint(err); ok {
		fmt.Fprintln(s.Stderr, "bodytrace:", hint)
		return ExitFailed
	}
	fmt.Fprintln(s.Stderr, "bodytrace:", err)
	return ExitFailed
}

// usageError is a mistake in the command line.
type usageError struct{ error }

// awsFlags are the flags of a CloudWatch Logs source.
type awsFlags struct {
	logGroup string
	AWSConfig
}

func (a *awsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.logGroup, "log-group", "", "read a CloudWatch Logs group, e.g. /aws/lambda/my-function")
	fs.StringVar(&a.Region, "region", "", "the log group's AWS region (default: AWS_REGION or the shared config)")
	fs.StringVar(&a.Endpoint, "endpoint-url", "", "CloudWatch Logs endpoint override (AWS_ENDPOINT_URL works too)")
	fs.StringVar(&a.Profile, "profile", "", "the AWS profile from ~/.aws/config (default: AWS_PROFILE, else the default profile)")
}

func (a *awsFlags) source(ctx context.Context, start time.Time) (*CloudWatch, error) {
	client, err := NewCloudWatchClient(ctx, a.AWSConfig)
	if err != nil {
		return nil, err
	}
	return &CloudWatch{Client: client, Group: a.logGroup, Start: start}, nil
}

func runRead(ctx context.Context, args []string, s Streams) error {
	fs := flag.NewFlagSet("bodytrace read", flag.ContinueOnError)
	fs.SetOutput(s.Stderr)
	var (
		aws     awsFlags
		since   = fs.String("since", "", "only invocations newer than this: a duration (90m, 1h, 2d, 2w) or an RFC 3339 time (default 1h for --log-group)")
		follow  = fs.Bool("follow", false, "with --log-group: keep reading new lines until interrupted")
		verdict = fs.String("verdict", "", "only these verdicts, comma-separated prefixes: lost matches lost:handler, lost:streaming, ...")
		asJSON  = fs.Bool("json", false, "print the matching summary lines as JSON, one per line, instead of rows")
		poll    = fs.Duration("poll", 2*time.Second, "with --follow: pause between reads of the log group")
	)
	fs.BoolVar(follow, "f", false, "short for --follow")
	aws.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: bodytrace [read] [flags] [file ...]\n\nPrints one row per invocation from the extension's summary lines.\n\n")
		fs.PrintDefaults()
	}
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	cutoff, err := parseSince(*since, time.Now())
	if err != nil {
		return usageError{err}
	}
	if *follow && aws.logGroup == "" {
		return usageError{errors.New("--follow needs --log-group (for a file, pipe it: tail -f FILE | bodytrace)")}
	}
	if aws.logGroup != "" && len(paths) > 0 {
		return usageError{errors.New("give files or --log-group, not both")}
	}

	filter := Filter{Verdicts: ParseVerdicts(*verdict)}
	if err := CheckVerdicts(filter.Verdicts); err != nil {
		return usageError{err}
	}
	var out func(Invocation) error
	if *asJSON {
		enc := json.NewEncoder(s.Stdout)
		out = func(inv Invocation) error { return enc.Encode(inv.Summary) }
	} else {
		colour := false
		if f, ok := s.Stdout.(*os.File); ok {
			colour = UseColour(f)
		}
		out = NewTable(s.Stdout, colour).Row
	}
	rows := 0
	var (
		writeErr error
		in       Input
		from     string
	)
	each := func(inv Invocation) bool {
		if !filter.Match(inv) || (!cutoff.IsZero() && !inv.Time.IsZero() && inv.Time.Before(cutoff)) {
			return true
		}
		rows++
		writeErr = out(inv)
		return writeErr == nil
	}

	switch {
	case aws.logGroup != "":
		if cutoff.IsZero() {
			cutoff = time.Now().Add(-time.Hour)
		}
		src, err := aws.source(ctx, cutoff)
		if err != nil {
			return err
		}
		src.Poll = *poll
		// The group is read with a filter pattern: every event is a summary line.
		counted := func(inv Invocation) bool { in.Lines++; in.Summaries++; return each(inv) }
		if err := src.Each(ctx, *follow, counted); err != nil {
			return err
		}
		from = "log group " + aws.logGroup + " since " + cutoff.UTC().Format(time.RFC3339)
	case len(paths) == 0:
		if err := readCounted(s.Stdin, &in, each); err != nil {
			return fmt.Errorf("read summary lines from stdin: %w", err)
		}
		from = "stdin"
	default:
		for _, p := range paths {
			if err := readPath(p, s.Stdin, &in, each); err != nil {
				return err
			}
			if writeErr != nil {
				break
			}
		}
		from = strings.Join(paths, ", ")
	}
	if writeErr != nil {
		return fmt.Errorf("write rows: %w", writeErr)
	}
	if rows == 0 && !*follow {
		return noRows(in, from)
	}
	return nil
}

func readPath(p string, stdin io.Reader, in *Input, each func(Invocation) bool) error {
	if p == "-" {
		return readCounted(stdin, in, each)
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("read summary lines: %w", err)
	}
	defer f.Close()
	if err := readCounted(f, in, each); err != nil {
		return fmt.Errorf("read summary lines from %s: %w", p, err)
	}
	return nil
}

// parseSince reads --since, a duration back from now (d for days, w for weeks) or an
// RFC 3339 time, and returns the oldest time wanted; the zero time means no bound.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if f, err := strconv.ParseFloat(n, 64); err == nil && f > 0 {
				return now.Add(-time.Duration(f * float64(unit))), nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("--since %q: want a duration such as 90m, 1h, 2d or 2w, or an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}

// stringList is a repeatable flag; commas separate values too.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func runView(ctx context.Context, args []string, s Streams) error {
	fs := flag.NewFlagSet("bodytrace view", flag.ContinueOnError)
	fs.SetOutput(s.Stderr)
	var (
		aws     awsFlags
		files   stringList
		port    = fs.Int("port", 7476, "port of the view on 127.0.0.1 (0 picks a free one)")
		jaeger  = fs.String("jaeger", "", "read traces from Jaeger's query API, e.g. http://127.0.0.1:16686")
		service = fs.String("service", "", "with --jaeger: the service name (OTEL_SERVICE_NAME); default every service")
		since   = fs.String("since", "1h", "how far back to read (--jaeger, --log-group): a duration or an RFC 3339 time")
		limit   = fs.Int("limit", 200, "most invocations listed")
	)
	fs.Var(&files, "file", "read summary lines from this file (repeatable; files can also follow the flags)")
	aws.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: bodytrace view [flags] [file ...]\n\nServes a local web view of recent invocations on 127.0.0.1.\nGive one source: files, --jaeger or --log-group.\n\n")
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	files = append(files, rest...)
	start, err := parseSince(*since, time.Now())
	if err != nil {
		return usageError{err}
	}
	given := 0
	for _, set := range []bool{len(files) > 0, *jaeger != "", aws.logGroup != ""} {
		if set {
			given++
		}
	}
	// Nothing named and something piped in (bodytrace read --json ... | bodytrace view):
	// read stdin.
	if given == 0 && !isTerminal(s.Stdin) {
		files, given = []string{"-"}, 1
	}
	if given != 1 {
		return usageError{errors.New("give one source: summary-line files (--file, or - for stdin), --jaeger URL or --log-group NAME")}
	}
	var src Source
	switch {
	case len(files) == 1 && files[0] == "-":
		// Stdin can be read once: its lines are kept, and every page load shows them.
		var in Input
		var invs []Invocation
		if err := readCounted(s.Stdin, &in, func(inv Invocation) bool { invs = append(invs, inv); return true }); err != nil {
			return fmt.Errorf("read summary lines from stdin: %w", err)
		}
		if len(invs) == 0 {
			return noRows(in, "stdin")
		}
		src = Lines{Invocations: invs, From: "stdin"}
	case *jaeger != "":
		src = &Jaeger{URL: *jaeger, Service: *service, Start: start, Limit: *limit}
	case aws.logGroup != "":
		if src, err = aws.source(ctx, start); err != nil {
			return err
		}
	default:
		for _, f := range files {
			if f == "-" {
				return usageError{errors.New("stdin (-) is a source on its own: give it without other files")}
			}
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("read summary lines: %w", err)
			}
		}
		src = Files{Paths: files}
	}
	v, err := NewView(src, *limit)
	if err != nil {
		return err
	}
	return v.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", *port), func(url string) {
		fmt.Fprintf(s.Stderr, "bodytrace view: %s on %s (Ctrl-C stops it)\n", src.Describe(), url)
	})
}
