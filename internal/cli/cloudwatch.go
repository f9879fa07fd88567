package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// CloudWatch reads summary lines from a CloudWatch Logs group (the function's, where the
// extension's log lands) with FilterLogEvents.
type CloudWatch struct {
	Client cloudwatchlogs.FilterLogEventsAPIClient
	// Group is the log group's name (/aws/lambda/<function>) or ARN.
	Group string
	// Start is the oldest time to read from.
	Start time.Time
	// Poll is the pause between reads with follow (default 2 s).
	Poll time.Duration
}

// AWSConfig is what the command line says about AWS: each field empty leaves the usual
// configuration (environment, shared files, SSO, instance role) to decide.
type AWSConfig struct {
	// Region is --region; Profile is --profile, a profile of ~/.aws/config.
	Region, Profile string
	// Endpoint overrides the service's endpoint (--endpoint-url).
	Endpoint string
}

// NewCloudWatchClient builds a CloudWatch Logs client from the usual AWS configuration
// and a. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDWATCH_LOGS work as well as a.Endpoint.
func NewCloudWatchClient(ctx context.Context, a AWSConfig) (*cloudwatchlogs.Client, error) {
	cfg, err := loadAWS(ctx, a)
	if err != nil {
		return nil, err
	}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if a.Endpoint != "" {
			o.BaseEndpoint = aws.String(a.Endpoint)
		}
	}), nil
}

func loadAWS(ctx context.Context, a AWSConfig) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if a.Region != "" {
		opts = append(opts, config.WithRegion(a.Region))
	}
	if a.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// Each calls fn for every summary line in the group since c.Start, oldest first page by
// page, until fn returns false. With follow it keeps polling for new lines until ctx ends
// (then it returns nil).
func (c *CloudWatch) Each(ctx context.Context, follow bool, fn func(Invocation) bool) error {
	poll := c.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	start := c.Start.UnixMilli()
	// seen holds the ids of events at the newest timestamp read: the next poll starts at
	// that millisecond again (events can share it) and skips them.
	seen := map[string]bool{}
	for {
		newest, ids, stop, err := c.page(ctx, start, seen, fn)
		if err != nil {
			if follow && ctx.Err() != nil {
				return nil
			}
			return err
		}
		if stop || !follow {
			return nil
		}
		if newest > start {
			start, seen = newest, ids
		} else {
			for id := range ids {
				seen[id] = true
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

// page reads every page of events from start on. It returns the newest timestamp seen,
// the ids of the events at that timestamp, and whether fn asked to stop.
func (c *CloudWatch) page(ctx context.Context, start int64, seen map[string]bool, fn func(Invocation) bool) (int64, map[string]bool, bool, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{
		StartTime: aws.Int64(start),
		// A quoted term matches events containing it: only summary lines cross the wire.
		FilterPattern: aws.String(`"` + summaryType + `"`),
	}
	if strings.HasPrefix(c.Group, "arn:") {
		in.LogGroupIdentifier = aws.String(c.Group)
	} else {
		in.LogGroupName = aws.String(c.Group)
	}
	newest, ids := start, map[string]bool{}
	pages := cloudwatchlogs.NewFilterLogEventsPaginator(c.Client, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return newest, ids, false, fmt.Errorf("read log group %s: %w", c.Group, err)
		}
		for _, e := range out.Events {
			id, ts := aws.ToString(e.EventId), aws.ToInt64(e.Timestamp)
			if seen[id] {
				continue
			}
			if ts > newest {
				newest, ids = ts, map[string]bool{}
			}
			if ts == newest {
				ids[id] = true
			}
			inv, ok := ParseLine([]byte(aws.ToString(e.Message)))
			if !ok {
				continue
			}
			if inv.Time.IsZero() {
				inv.Time = time.UnixMilli(ts).UTC()
			}
			if !fn(inv) {
				return newest, ids, true, nil
			}
		}
	}
	return newest, ids, false, nil
}
