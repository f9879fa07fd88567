package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

const cdnUsage = `Usage: bodytrace cdn [flags] [summary-file ...]

Joins CloudFront access logs to the extension's summary lines by the edge request id
(x-edge-request-id = x-amz-cf-id) and says, per request, where it was answered:
edge-cache (never invoked), invoked (with the verdict), edge-error, or no-record.

CDN logs: --cdn-log FILE (W3C, plain or .gz, or v2 JSON lines), --cdn-s3 s3://bucket/prefix
(standard logs delivered to S3), --cdn-log-group NAME (standard logging v2 in CloudWatch Logs).
Invocations: --file FILE or files after the flags, or --log-group NAME.
--endpoint-url overrides the S3 and CloudWatch Logs endpoints both.

`

// cdnLogs are the CDN sources given.
type cdnLogs struct {
	files, s3URLs, groups stringList
}

func runCDN(ctx context.Context, args []string, s Streams) error {
	fs := flag.NewFlagSet("bodytrace cdn", flag.ContinueOnError)
	fs.SetOutput(s.Stderr)
	var (
		aws    awsFlags
		cdn    cdnLogs
		files  stringList
		since  = fs.String("since", "", "only requests newer than this: a duration (90m, 1h, 2d) or an RFC 3339 time (default 24h for S3 and CloudWatch Logs)")
		until  = fs.String("until", "", "only requests up to this RFC 3339 time")
		short  = fs.Int64("short-bytes", 512, "an edge response of fewer bytes than this (sc-bytes, headers included), or with Content-Length 0, counts as an empty or short body")
		asJSON = fs.Bool("json", false, "print one JSON object per request, then the per-path summary and the skipped lines")
	)
	fs.Var(&cdn.files, "cdn-log", "read a CloudFront log file, plain or .gz (repeatable)")
	fs.Var(&cdn.s3URLs, "cdn-s3", "read CloudFront standard logs from S3: s3://bucket/prefix (repeatable)")
	fs.Var(&cdn.groups, "cdn-log-group", "read CloudFront standard logging v2 from a CloudWatch Logs group (repeatable)")
	fs.Var(&files, "file", "read summary lines from this file (repeatable; files can also follow the flags)")
	aws.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), cdnUsage)
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	files = append(files, rest...)
	now := time.Now()
	var w Window
	if w.Start, err = parseSince(*since, now); err != nil {
		return usageError{err}
	}
	if *until != "" {
		if w.End, err = time.Parse(time.RFC3339, *until); err != nil {
			return usageError{fmt.Errorf("--until %q: want an RFC 3339 time", *until)}
		}
	}
	remote := len(cdn.s3URLs) > 0 || len(cdn.groups) > 0 || aws.logGroup != ""
	if w.Start.IsZero() && remote {
		w.Start = now.Add(-24 * time.Hour)
	}
	if len(cdn.files)+len(cdn.s3URLs)+len(cdn.groups) == 0 {
		return usageError{errors.New("give CloudFront logs: --cdn-log FILE, --cdn-s3 s3://bucket/prefix or --cdn-log-group NAME")}
	}
	if (len(files) > 0) == (aws.logGroup != "") {
		return usageError{errors.New("give the invocations' summary lines: files (--file) or --log-group, one of them")}
	}
	for _, u := range cdn.s3URLs {
		if _, _, err := ParseS3URL(u); err != nil {
			return usageError{err}
		}
	}

	// The CDN's rows.
	log := &CDNLog{}
	var rows []EdgeRow
	keep := func(r EdgeRow) {
		if w.Contains(r.Time) {
			rows = append(rows, r)
		}
	}
	for _, f := range cdn.files {
		if err := log.ReadCDNFile(f, keep); err != nil {
			return err
		}
	}
	if len(cdn.s3URLs) > 0 {
		client, err := NewS3Client(ctx, aws.AWSConfig)
		if err != nil {
			return err
		}
		for _, u := range cdn.s3URLs {
			bucket, prefix, _ := ParseS3URL(u)
			if err := (&CDNBucket{Client: client, Bucket: bucket, Prefix: prefix, Window: w}).Each(ctx, log, keep); err != nil {
				return err
			}
		}
	}
	if len(cdn.groups) > 0 {
		client, err := NewCloudWatchClient(ctx, aws.AWSConfig)
		if err != nil {
			return err
		}
		for _, g := range cdn.groups {
			if err := (&CDNLogGroup{Client: client, Group: g, Window: w}).Each(ctx, log, keep); err != nil {
				return err
			}
		}
	}

	// The invocations. They start before the edge logs the response: read a minute more.
	var invs []Invocation
	invWindow := w
	if !invWindow.Start.IsZero() {
		invWindow.Start = invWindow.Start.Add(-time.Minute)
	}
	addInv := func(inv Invocation) bool {
		if invWindow.Contains(inv.Time) {
			invs = append(invs, inv)
		}
		return true
	}
	if aws.logGroup != "" {
		src, err := aws.source(ctx, invWindow.Start)
		if err != nil {
			return err
		}
		if err := src.Each(ctx, false, addInv); err != nil {
			return err
		}
	}
	for _, p := range files {
		if err := readPath(p, s.Stdin, nil, addInv); err != nil {
			return err
		}
	}

	joined := Join(rows, invs, *short)
	summary := Summarize(joined)
	if *asJSON {
		err = writeCDNJSON(s.Stdout, joined, summary, log.Skipped)
	} else {
		err = writeCDNTable(s.Stdout, joined, summary)
	}
	if err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	for _, sk := range log.Skipped {
		fmt.Fprintf(s.Stderr, "bodytrace cdn: skipped %d malformed %s in %s (first: %s)\n", sk.Lines, plural(sk.Lines, "line"), sk.Source, sk.First)
	}
	if len(rows) == 0 {
		fmt.Fprintln(s.Stderr, "bodytrace cdn: no CDN log rows in the window")
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

const cdnRowFormat = "%-19s  %-8s  %-18s  %6s  %-17s  %7s  %-10s  %s\n"

func writeCDNTable(w io.Writer, joined []Joined, summary []PathSummary) error {
	if _, err := fmt.Fprintf(w, cdnRowFormat, "TIME (UTC)", "EDGE ID", "ROUTE", "STATUS", "RESULT", "BYTES", "WHERE", "VERDICT"); err != nil {
		return err
	}
	for _, j := range joined {
		status, result, sent := "-", "-", "-"
		if e := j.Edge; e != nil {
			status, result, sent = formatStatus(e.Status), e.ResultType, strconv.FormatInt(e.BytesSent, 10)
		} else if j.Invocation != nil {
			status = formatStatus(j.Invocation.Status)
		}
		if _, err := fmt.Fprintf(w, cdnRowFormat, formatTime(j.Time), shortEdgeID(j.EdgeID), j.Route, status, result, sent, j.Where, j.Verdict); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(w, "\nEmpty or short bodies per path (CDN rows):\n%-18s  %8s  %14s  %s\n", "ROUTE", "REQUESTS", "EMPTY OR SHORT", "FROM"); err != nil {
		return err
	}
	for _, s := range summary {
		if _, err := fmt.Fprintf(w, "%-18s  %8d  %14d  %s\n", s.Route, s.Requests, s.Short, s.FromText()); err != nil {
			return err
		}
	}
	return nil
}

func writeCDNJSON(w io.Writer, joined []Joined, summary []PathSummary, skipped []Skip) error {
	enc := json.NewEncoder(w)
	for _, j := range joined {
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	if skipped == nil {
		skipped = []Skip{}
	}
	return enc.Encode(struct {
		Type    string        `json:"type"`
		Paths   []PathSummary `json:"paths"`
		Skipped []Skip        `json:"skipped"`
	}{"bodytrace.cdn.summary", summary, skipped})
}
