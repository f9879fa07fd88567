package localrun

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Artifacts are the built binaries the emulator runs.
type Artifacts struct {
	Extension, GoExample, Wrapper, NodeExample string
	// NodeHelper is the folder holding the layer's Node.js helper (bodytrace.cjs), copied
	// to /opt/bodytrace/node as the layer lays it out; empty when there is none.
	NodeHelper string
}

// BuildArtifacts builds the extension and the Go example into dir.
func BuildArtifacts(dir string) (Artifacts, error) {
	ext, err := Build(dir, "./extension", "bodytrace")
	if err != nil {
		return Artifacts{}, err
	}
	goex, err := Build(dir, "./examples/go", "go-example")
	if err != nil {
		return Artifacts{}, err
	}
	root := Root()
	return Artifacts{Extension: ext, GoExample: goex,
		Wrapper: filepath.Join(root, "layer", "bodytrace-wrapper"), NodeExample: filepath.Join(root, "examples", "node"),
		NodeHelper: existing(filepath.Join(root, "layer", "node"))}, nil
}

// existing returns dir when it exists, else "".
func existing(dir string) string {
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// LayerArtifacts returns the artifacts as `make layer` built them for this machine's
// architecture (layer/build/<arch>), the way the layer lays them out under /opt.
func LayerArtifacts() (Artifacts, error) {
	root := Root()
	arch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	layer := filepath.Join(root, "layer", "build", arch)
	art := Artifacts{
		Extension:   filepath.Join(layer, "extensions", "bodytrace"),
		Wrapper:     filepath.Join(layer, "bodytrace-wrapper"),
		NodeExample: filepath.Join(root, "examples", "node"),
		NodeHelper:  existing(filepath.Join(layer, "bodytrace", "node")),
	}
	if _, err := os.Stat(art.Extension); err != nil {
		return art, fmt.Errorf("%s is missing: run `make layer`", art.Extension)
	}
	return art, nil
}
