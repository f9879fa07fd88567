package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Defaults match template.yaml.
var (
	DefaultArchitectures = []string{"x86_64", "arm64"}
	// DefaultRuntimes are the runtimes the end-to-end tests run, as template.yaml lists them.
	DefaultRuntimes = []string{"nodejs20.x", "nodejs22.x", "nodejs24.x", "provided.al2023"}
)

// Options say what to publish where.
type Options struct {
	Dir           string   // holds bodytrace-<arch>.zip (layer/build)
	Name          string   // layer name prefix: the layers are <Name>-<arch>
	Regions       []string // at least one
	Architectures []string // default DefaultArchitectures
	Runtimes      []string // default DefaultRuntimes
	Description   string
	License       string // LicenseInfo, optional
	Public        bool   // let every AWS account use the versions (lambda:GetLayerVersion for "*")
	DryRun        bool   // say what would be done, call nothing
}

// API is the part of the Lambda API the publisher calls.
type API interface {
	PublishLayerVersion(context.Context, *lambda.PublishLayerVersionInput, ...func(*lambda.Options)) (*lambda.PublishLayerVersionOutput, error)
	AddLayerVersionPermission(context.Context, *lambda.AddLayerVersionPermissionInput, ...func(*lambda.Options)) (*lambda.AddLayerVersionPermissionOutput, error)
}

// Publisher publishes layer versions.
type Publisher struct {
	// Client returns the Lambda client of a region.
	Client func(ctx context.Context, region string) (API, error)
	// Out receives the published ARNs, one a line; Log the progress (and the dry run's plan
	// goes to Out).
	Out, Log io.Writer
}

// Published is one layer version made.
type Published struct {
	Region, Architecture, Layer string
	Version                     int64
	ARN                         string
	Public                      bool
}

// Public access: the statement every public layer uses.
const (
	publicStatement = "bodytrace-public"
	publicAction    = "lambda:GetLayerVersion"
	publicPrincipal = "*"
)

// zip is one architecture's layer content.
type zip struct {
	arch, path string
	data       []byte
}

// Run publishes every architecture's zip in every region (or, with DryRun, prints what it
// would do). All zips are read before the first call, so a missing one publishes nothing.
func (p *Publisher) Run(ctx context.Context, o Options) ([]Published, error) {
	o = withDefaults(o)
	if len(o.Regions) == 0 {
		return nil, errors.New("no region given: --regions us-east-1,eu-west-1")
	}
	if o.Name == "" {
		return nil, errors.New("no layer name given")
	}
	zips, err := readZips(o)
	if err != nil {
		return nil, err
	}
	if o.DryRun {
		p.plan(o, zips)
		return nil, nil
	}
	var out []Published
	for _, region := range o.Regions {
		client, err := p.Client(ctx, region)
		if err != nil {
			return out, fmt.Errorf("lambda client for %s: %w", region, err)
		}
		for _, z := range zips {
			pub, err := p.publish(ctx, client, region, z, o)
			if err != nil {
				return out, err
			}
			out = append(out, pub)
			fmt.Fprintln(p.Out, pub.ARN)
		}
	}
	return out, nil
}

func (p *Publisher) publish(ctx context.Context, client API, region string, z zip, o Options) (Published, error) {
	name := layerName(o.Name, z.arch)
	in := &lambda.PublishLayerVersionInput{
		LayerName:               aws.String(name),
		Content:                 &types.LayerVersionContentInput{ZipFile: z.data},
		CompatibleArchitectures: []types.Architecture{types.Architecture(z.arch)},
		Description:             aws.String(o.Description),
	}
	for _, r := range o.Runtimes {
		in.CompatibleRuntimes = append(in.CompatibleRuntimes, types.Runtime(r))
	}
	if o.License != "" {
		in.LicenseInfo = aws.String(o.License)
	}
	res, err := client.PublishLayerVersion(ctx, in)
	if err != nil {
		return Published{}, fmt.Errorf("publish layer %s in %s: %w", name, region, err)
	}
	pub := Published{Region: region, Architecture: z.arch, Layer: name, Version: res.Version, ARN: aws.ToString(res.LayerVersionArn)}
	if o.Public {
		_, err := client.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{
			LayerName: aws.String(name), VersionNumber: aws.Int64(res.Version),
			StatementId: aws.String(publicStatement), Action: aws.String(publicAction), Principal: aws.String(publicPrincipal),
		})
		if err != nil {
			return pub, fmt.Errorf("make %s public in %s (the version is published, but private): %w", pub.ARN, region, err)
		}
		pub.Public = true
	}
	access := "private"
	if pub.Public {
		access = "public"
	}
	fmt.Fprintf(p.Log, "published %s version %d in %s (%s, %s)\n", name, pub.Version, region, z.arch, access)
	return pub, nil
}

// plan prints what Run would do.
func (p *Publisher) plan(o Options, zips []zip) {
	fmt.Fprintln(p.Out, "dry run: no AWS call is made")
	for _, region := range o.Regions {
		for _, z := range zips {
			sum := sha256.Sum256(z.data)
			fmt.Fprintf(p.Out, "%s: publish layer %s from %s (%d bytes, sha256 %s), architectures %s, runtimes %s\n",
				region, layerName(o.Name, z.arch), z.path, len(z.data), hex.EncodeToString(sum[:]), z.arch, strings.Join(o.Runtimes, ","))
			if o.Public {
				fmt.Fprintf(p.Out, "%s: allow principal %q action %s on that version (public)\n", region, publicPrincipal, publicAction)
			}
		}
	}
}

func withDefaults(o Options) Options {
	if len(o.Architectures) == 0 {
		o.Architectures = DefaultArchitectures
	}
	if len(o.Runtimes) == 0 {
		o.Runtimes = DefaultRuntimes
	}
	if o.Dir == "" {
		o.Dir = filepath.Join("layer", "build")
	}
	if o.Description == "" {
		o.Description = "bodytrace: records where each invocation's response body went"
	}
	return o
}

func readZips(o Options) ([]zip, error) {
	var zips []zip
	for _, arch := range o.Architectures {
		if arch != "x86_64" && arch != "arm64" {
			return nil, fmt.Errorf("architecture %q: want x86_64 or arm64", arch)
		}
		path := filepath.Join(o.Dir, "bodytrace-"+arch+".zip")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is missing: run make layer first", path)
		}
		if err != nil {
			return nil, fmt.Errorf("read the layer zip: %w", err)
		}
		zips = append(zips, zip{arch: arch, path: path, data: data})
	}
	return zips, nil
}

func layerName(prefix, arch string) string { return prefix + "-" + arch }

// NewClient returns a Lambda client for region from the usual AWS configuration
// (environment, shared files, SSO, instance role). A non-empty endpoint overrides the
// service's; AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_LAMBDA work as well.
func NewClient(endpoint string) func(ctx context.Context, region string) (API, error) {
	return func(ctx context.Context, region string) (API, error) {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		}), nil
	}
}
