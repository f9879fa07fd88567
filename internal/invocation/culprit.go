package invocation

import (
	"regexp"
	"strings"
)

// knownPackages names the wrappers people know by name, as the Node helper does
// (layer/node/lib/culprit.cjs): the package on a stack becomes the stage's name.
var knownPackages = []struct {
	match *regexp.Regexp
	name  string
}{
	{regexp.MustCompile(`^@sentry/`), "sentry"},
	{regexp.MustCompile(`^@opentelemetry/`), "opentelemetry"},
	{regexp.MustCompile(`^(dd-trace|datadog-lambda-js)$`), "datadog"},
	{regexp.MustCompile(`^(newrelic|@newrelic/.+)$`), "newrelic"},
	{regexp.MustCompile(`^@middy/`), "middy"},
}

// culpritName is the name a package is blamed under.
func culpritName(pkg string) string {
	for _, k := range knownPackages {
		if k.match.MatchString(pkg) {
			return k.name
		}
	}
	return pkg
}

// modulePath finds an npm package in a path on a stack: node_modules/<name> or
// node_modules/@scope/<name>.
var modulePath = regexp.MustCompile(`node_modules/((?:@[A-Za-z0-9._~-]+/)?[A-Za-z0-9._~-]+)`)

// notCulprits are packages on every stack that are never the wrapper to blame: the
// runtime client (installed from npm outside Lambda) and bodytrace itself.
var notCulprits = map[string]bool{"aws-lambda-ric": true, "@aws/lambda-invoke-store": true, "bodytrace": true}

// packageOnStack returns the first package (innermost frame first) a stack, or a note
// carrying one, runs through, other than the runtime client and bodytrace; "" for none.
func packageOnStack(text string) string {
	for _, m := range modulePath.FindAllStringSubmatch(text, -1) {
		if pkg := m[1]; !notCulprits[pkg] && !strings.HasPrefix(pkg, "@bodytrace/") {
			return pkg
		}
	}
	return ""
}
