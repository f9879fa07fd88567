// Command publish publishes the layer zips built by `make layer`
// (layer/build/bodytrace-x86_64.zip and bodytrace-arm64.zip) as Lambda layer versions
// named bodytrace-<arch> in each region given, optionally public, and prints their ARNs.
//
//	go run ./scripts/publish --regions us-east-1,eu-west-1 --public
//	go run ./scripts/publish --regions us-east-1 --dry-run
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bodytrace/bodytrace/internal/publish"
)

func main() {
	var (
		regions     = flag.String("regions", os.Getenv("AWS_REGION"), "comma-separated regions to publish in (default AWS_REGION)")
		dir         = flag.String("dir", "layer/build", "folder holding bodytrace-<arch>.zip")
		name        = flag.String("name", "bodytrace", "layer name prefix: the layers are <name>-x86_64 and <name>-arm64")
		archs       = flag.String("architectures", strings.Join(publish.DefaultArchitectures, ","), "comma-separated architectures")
		runtimes    = flag.String("runtimes", strings.Join(publish.DefaultRuntimes, ","), "comma-separated compatible runtimes")
		description = flag.String("description", "", "layer version description")
		license     = flag.String("license", "Apache-2.0", "license info (an SPDX identifier or a URL)")
		public      = flag.Bool("public", false, "let every AWS account use the versions (lambda:GetLayerVersion for principal *)")
		dryRun      = flag.Bool("dry-run", false, "print what would be published; call nothing")
		endpoint    = flag.String("endpoint-url", "", "Lambda API endpoint override (AWS_ENDPOINT_URL works too)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &publish.Publisher{Client: publish.NewClient(*endpoint), Out: os.Stdout, Log: os.Stderr}
	_, err := p.Run(ctx, publish.Options{
		Dir: *dir, Name: *name, Regions: split(*regions), Architectures: split(*archs), Runtimes: split(*runtimes),
		Description: *description, License: *license, Public: *public, DryRun: *dryRun,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "publish:", err)
		stop()
		os.Exit(1)
	}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
