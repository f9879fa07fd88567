package localrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Tools are the installed real parts.
type Tools struct {
	RIE, Jaeger, RIC string // binaries and the aws-lambda-ric package folder (3.x, the machine's Node)
	// Nodes are the Node.js runtimes Lambda runs today, by major version ("22", "24"), each
	// with the aws-lambda-ric 4.x built for it (scripts/install-node-runtimes.sh).
	Nodes map[string]NodeRuntime
}

// NodeRuntime is one installed Node.js version with its runtime client.
type NodeRuntime struct {
	Dir string // the Node.js package folder (bin/node), mounted at /var/lang as on Lambda
	RIC string // the aws-lambda-ric package folder, mounted at /var/runtime
}

// NodeVersions are the Node.js majors of Lambda's current runtimes (nodejs22.x, nodejs24.x).
var NodeVersions = []string{"22", "24"}

// Root is the repository's root folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// FindTools locates what `make tools` installed, or says what is missing.
func FindTools() (Tools, error) {
	cache := os.Getenv("BODYTRACE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "bodytrace")
	}
	t := Tools{
		RIE:    filepath.Join(cache, "bin", "aws-lambda-rie"),
		Jaeger: filepath.Join(cache, "bin", "jaeger"),
		RIC:    filepath.Join(cache, "node", "node_modules", "aws-lambda-ric"),
	}
	need := []string{t.RIE, t.Jaeger, filepath.Join(t.RIC, "bin", "index.mjs")}
	t.Nodes = map[string]NodeRuntime{}
	for _, major := range NodeVersions {
		dir := filepath.Join(cache, "node-runtimes", major)
		n := NodeRuntime{Dir: filepath.Join(dir, "node"), RIC: filepath.Join(dir, "ric", "node_modules", "aws-lambda-ric")}
		t.Nodes[major] = n
		need = append(need, filepath.Join(n.Dir, "bin", "node"), filepath.Join(n.RIC, "index.mjs"))
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return t, fmt.Errorf("%s is missing: run `make tools`", p)
		}
	}
	return t, nil
}

// Build compiles a main package of this module into dir, with the build tags given, and
// returns the binary's path.
func Build(dir, pkg, name string, tags ...string) (string, error) {
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}
