package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Window is the time span of the requests wanted; a zero bound is open.
type Window struct {
	Start, End time.Time
}

// Contains reports whether t is in the window; an unknown (zero) time is.
func (w Window) Contains(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	return (w.Start.IsZero() || !t.Before(w.Start)) && (w.End.IsZero() || !t.After(w.End))
}

// ReadCDNFile parses a local CloudFront log file, plain or gzipped.
func (l *CDNLog) ReadCDNFile(path string, fn func(EdgeRow)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read CDN log: %w", err)
	}
	defer f.Close()
	return l.Read(f, path, fn)
}

// CDNBucket reads standard logs (legacy) that CloudFront delivered to S3: every object
// under a prefix whose time falls in a window.
type CDNBucket struct {
	Client interface {
		s3.ListObjectsV2APIClient
		GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	}
	Bucket, Prefix string
	Window         Window
}

// ParseS3URL splits s3://bucket/prefix.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("--cdn-s3 %q: want s3://bucket/prefix", s)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

// NewS3Client builds an S3 client from the usual AWS configuration. With an endpoint
// override (a stand-in, or an S3-compatible server) it addresses buckets path-style.
func NewS3Client(ctx context.Context, a AWSConfig) (*s3.Client, error) {
	cfg, err := loadAWS(ctx, a)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if a.Endpoint != "" {
			o.BaseEndpoint = aws.String(a.Endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// keyHour finds the hour in a legacy log's key: <prefix>/<distribution>.YYYY-MM-DD-HH.<id>.gz.
var keyHour = regexp.MustCompile(`\.(\d{4}-\d{2}-\d{2}-\d{2})\.`)

// inWindow reports whether an object may hold requests of the window: by the hour in its
// key (the hour the requests happened, even when delivered late), else by LastModified
// (delivery, up to a day after the requests).
func (b *CDNBucket) inWindow(key string, modified *time.Time) bool {
	w := b.Window
	if m := keyHour.FindStringSubmatch(key); m != nil {
		if h, err := time.Parse("2006-01-02-15", m[1]); err == nil {
			return (w.Start.IsZero() || h.Add(time.Hour).After(w.Start)) && (w.End.IsZero() || !h.After(w.End))
		}
	}
	if modified == nil {
		return true
	}
	return (w.Start.IsZero() || !modified.Before(w.Start)) && (w.End.IsZero() || modified.Before(w.End.Add(24*time.Hour)))
}

// Each parses every object in the window.
func (b *CDNBucket) Each(ctx context.Context, log *CDNLog, fn func(EdgeRow)) error {
	where := "s3://" + b.Bucket + "/" + b.Prefix
	pages := s3.NewListObjectsV2Paginator(b.Client, &s3.ListObjectsV2Input{Bucket: aws.String(b.Bucket), Prefix: aws.String(b.Prefix)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list CDN logs in %s: %w", where, s3Advice(err, b.Bucket, "s3:ListBucket"))
		}
		for _, o := range out.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") || !b.inWindow(key, o.LastModified) {
				continue
			}
			obj, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(key)})
			if err != nil {
				return fmt.Errorf("get CDN log s3://%s/%s: %w", b.Bucket, key, s3Advice(err, b.Bucket, "s3:GetObject"))
			}
			err = log.Read(obj.Body, "s3://"+b.Bucket+"/"+key, fn)
			obj.Body.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// s3Advice names what is missing when S3 says a bucket or a permission is.
func s3Advice(err error, bucket, action string) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return err
	}
	switch api.ErrorCode() {
	case "AccessDenied", "Forbidden":
		return fmt.Errorf("access denied: the caller needs %s on bucket %s (AccessDenied): %w", action, bucket, err)
	case "NoSuchBucket":
		return fmt.Errorf("bucket %s does not exist (NoSuchBucket): %w", bucket, err)
	}
	return err
}

// CDNLogGroup reads standard logging v2 records that CloudFront delivered to a CloudWatch
// Logs group as JSON.
type CDNLogGroup struct {
	Client cloudwatchlogs.FilterLogEventsAPIClient
	Group  string
	Window Window
}

// Each parses every event of the window; events that are not records count as skipped.
func (g *CDNLogGroup) Each(ctx context.Context, log *CDNLog, fn func(EdgeRow)) error {
	in := &cloudwatchlogs.FilterLogEventsInput{}
	if !g.Window.Start.IsZero() {
		in.StartTime = aws.Int64(g.Window.Start.UnixMilli())
	}
	if !g.Window.End.IsZero() {
		in.EndTime = aws.Int64(g.Window.End.UnixMilli())
	}
	if strings.HasPrefix(g.Group, "arn:") {
		in.LogGroupIdentifier = aws.String(g.Group)
	} else {
		in.LogGroupName = aws.String(g.Group)
	}
	pages := cloudwatchlogs.NewFilterLogEventsPaginator(g.Client, in)
	n := 0
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			var missing *cwtypes.ResourceNotFoundException
			if errors.As(err, &missing) {
				return fmt.Errorf("read CDN log group %s: the log group does not exist (check the name and --region): %w", g.Group, err)
			}
			return fmt.Errorf("read CDN log group %s: %w", g.Group, err)
		}
		for _, e := range out.Events {
			n++
			row, err := ParseEdgeJSON([]byte(aws.ToString(e.Message)))
			if err != nil {
				log.skip(g.Group, n, err.Error())
				continue
			}
			row.Source = g.Group + " " + aws.ToString(e.LogStreamName)
			fn(row)
		}
	}
	return nil
}
