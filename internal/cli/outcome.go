package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Exit codes. A script can tell "nothing to read" from "nothing matched" without
// parsing the message.
const (
	ExitOK        = 0
	ExitFailed    = 1 // a file or the AWS API could not be read
	ExitUsage     = 2 // bad flags or arguments
	ExitNoInput   = 3 // the input was empty
	ExitNoSummary = 4 // there was input, but no summary line in it
	ExitNoMatch   = 5 // summary lines, but none passed --verdict / --since
)

// emptyResult is a run that printed no row, with the reason and its exit code.
type emptyResult struct {
	code int
	msg  string
}

func (e emptyResult) Error() string { return e.msg }

// noRows explains why no row was printed from what was read.
func noRows(in Input, from string) error {
	switch {
	case in.Lines == 0:
		return emptyResult{ExitNoInput, "no input: " + from + " was empty"}
	case in.Summaries == 0:
		return emptyResult{ExitNoSummary, fmt.Sprintf("no summary lines in %d lines from %s: the extension writes them when no OTLP endpoint is set, or with BODYTRACE_SUMMARY=on", in.Lines, from)}
	}
	return emptyResult{ExitNoMatch, fmt.Sprintf("none of the %d summary lines matched --verdict and --since", in.Summaries)}
}

// awsHint replaces the SDK's error for a missing credential, profile or region with one
// line that says what to do, and reports whether it did.
func awsHint(err error) (string, bool) {
	var profile config.SharedConfigProfileNotExistError
	var region *aws.MissingRegionError
	switch {
	case errors.As(err, &profile):
		return fmt.Sprintf("AWS profile %q is not in ~/.aws/config or ~/.aws/credentials: check --profile or AWS_PROFILE", profile.Profile), true
	case errors.As(err, &region), strings.Contains(err.Error(), "Missing Region"):
		return "no AWS region: give --region or set AWS_REGION", true
	// The SDK wraps every failure to find credentials in "get identity" (each service's
	// auth.go), without an error type of its own.
	case strings.Contains(err.Error(), "get identity: "):
		return "no AWS credentials found: give --profile, set AWS_PROFILE (after `aws sso login` for SSO), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", true
	}
	return "", false
}
