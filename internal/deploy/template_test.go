package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/bodytrace/bodytrace/internal/publish"
	"github.com/bodytrace/bodytrace/internal/secrets"
)

const root = "../.."

// node is a YAML mapping.
type node = map[string]any

// loadYAML reads a CloudFormation template. Its short-form functions (!Ref, !If, ...) are
// read as their long form: their shape, not their meaning, is what these tests check.
func loadYAML(t *testing.T, text string) node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	stripTags(&doc)
	var out node
	if err := doc.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// stripTags turns "!Ref X" into {"Ref": X}, as the long form writes it.
func stripTags(n *yaml.Node) {
	for _, c := range n.Content {
		stripTags(c)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		inner := *n
		inner.Tag = ""
		*n = yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: name}, &inner}}
	}
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func get(n any, path ...string) any {
	for _, p := range path {
		m, ok := n.(node)
		if !ok {
			return nil
		}
		n = m[p]
	}
	return n
}

func strings_(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestTemplate: sam build builds both layers through the Makefile, with the runtimes the
// tests run, the license, and the secret as the way to pass OTLP headers.
func TestTemplate(t *testing.T) {
	tpl := loadYAML(t, readFile(t, "template.yaml"))
	makefile := readFile(t, "Makefile")
	layers := 0
	for name, r := range tpl["Resources"].(node) {
		if get(r, "Type") != "AWS::Serverless::LayerVersion" {
			continue
		}
		layers++
		if get(r, "Metadata", "BuildMethod") != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod %v, want makefile (sam build would zip the source folder as it is)", name, get(r, "Metadata", "BuildMethod"))
		}
		arch := get(r, "Metadata", "BuildArchitecture")
		if archs := strings_(get(r, "Properties", "CompatibleArchitectures")); len(archs) != 1 || archs[0] != arch {
			t.Errorf("%s: CompatibleArchitectures %v, BuildArchitecture %v", name, archs, arch)
		}
		// sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR.
		target := regexp.MustCompile(`(?m)^build-` + name + `:\n\tscripts/build-layer.sh --stage (\S+) "\$\(ARTIFACTS_DIR\)"$`).FindStringSubmatch(makefile)
		if target == nil || target[1] != arch {
			t.Errorf("%s: the Makefile has no target build-%s that stages the %v layer into ARTIFACTS_DIR", name, name, arch)
		}
		if rt := strings_(get(r, "Properties", "CompatibleRuntimes")); !slices.Equal(rt, publish.DefaultRuntimes) {
			t.Errorf("%s: CompatibleRuntimes %v, want the tested ones %v (publish.DefaultRuntimes)", name, rt, publish.DefaultRuntimes)
		}
		if get(r, "Properties", "LicenseInfo") != "Apache-2.0" {
			t.Errorf("%s: LicenseInfo %v", name, get(r, "Properties", "LicenseInfo"))
		}
	}
	if layers != 2 {
		t.Errorf("%d layers, want x86_64 and arm64", layers)
	}
	if !strings.Contains(readFile(t, "LICENSE"), "Apache License\n                           Version 2.0") {
		t.Error("LICENSE is not the Apache License 2.0 that LicenseInfo names")
	}

	fn := get(tpl, "Resources", "ExampleFunction", "Properties")
	vars := get(fn, "Environment", "Variables").(node)
	secretVar, ok := vars[secrets.EnvARN]
	if !ok || !strings.Contains(strings.Join(flatten(secretVar), " "), "OtlpHeadersSecretArn") {
		t.Errorf("the example function does not pass OtlpHeadersSecretArn as %s: %v", secrets.EnvARN, secretVar)
	}
	if !strings.Contains(strings.Join(flatten(get(fn, "Policies")), " "), "AWSSecretsManagerGetSecretValuePolicy SecretArn Ref OtlpHeadersSecretArn") {
		t.Errorf("the function's role may not read the headers secret: %v", get(fn, "Policies"))
	}
	if rt := get(fn, "Runtime").(string); !slices.Contains(publish.DefaultRuntimes, rt) {
		t.Errorf("the example function runs %s, which the layer does not list", rt)
	}
}

// flatten lists every key and scalar of a YAML value, in order, for containment checks.
func flatten(v any) []string {
	var out []string
	switch v := v.(type) {
	case node:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, k)
			out = append(out, flatten(v[k])...)
		}
	case []any:
		for _, x := range v {
			out = append(out, flatten(x)...)
		}
	case nil:
	default:
		out = append(out, strings.TrimSpace(strings.ReplaceAll(strings.TrimSpace(toString(v)), "\n", " ")))
	}
	return out
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := yaml.Marshal(v)
	return string(b)
}

// TestDocsMatchTemplate: the outputs and parameters the docs name are the template's.
func TestDocsMatchTemplate(t *testing.T) {
	tpl := loadYAML(t, readFile(t, "template.yaml"))
	eco := readFile(t, "docs/ecosystem.md")
	for _, section := range []string{"Outputs", "Parameters"} {
		for name := range tpl[section].(node) {
			if !strings.Contains(eco, "`"+name+"`") {
				t.Errorf("docs/ecosystem.md does not name the template's %s %s", strings.ToLower(strings.TrimSuffix(section, "s")), name)
			}
		}
	}
	// Every backticked stack output or parameter-like name in the docs exists.
	for _, m := range regexp.MustCompile("`((?:LayerArn|Otlp|FunctionUrl|NextExecWrapper|Architecture)\\w*)`").FindAllStringSubmatch(eco+readFile(t, "README.md"), -1) {
		if get(tpl, "Outputs", m[1]) == nil && get(tpl, "Parameters", m[1]) == nil {
			t.Errorf("the docs name %s, which the template neither outputs nor takes", m[1])
		}
	}
}

// TestDocsSnippetsCreateAndAttachTheLayer: each way to deploy (console, SAM, CDK,
// Terraform) creates the layer from the zip, with the template's runtimes and license,
// and attaches it.
func TestDocsSnippetsCreateAndAttachTheLayer(t *testing.T) {
	eco := readFile(t, "docs/ecosystem.md")
	section := func(title string) string {
		i := strings.Index(eco, "\n### "+title)
		if i < 0 {
			t.Fatalf("docs/ecosystem.md has no section %q", title)
		}
		rest := eco[i+1:]
		if j := strings.Index(rest[4:], "\n#"); j >= 0 {
			rest = rest[:j+4]
		}
		return rest
	}
	runtimes := publish.DefaultRuntimes
	cdkRuntime := func(r string) string { // nodejs22.x -> NODEJS_22_X, provided.al2023 -> PROVIDED_AL2023
		r = strings.ToUpper(strings.ReplaceAll(r, ".", "_"))
		return "lambda.Runtime." + regexp.MustCompile(`^NODEJS(\d+)`).ReplaceAllString(r, "NODEJS_$1")
	}
	for _, c := range []struct {
		title  string
		create []string
		attach string
		rt     func(string) string
	}{
		{"Console", []string{"Create layer", "bodytrace-x86_64.zip", "Apache-2.0"}, "Add a layer", func(r string) string { return "`" + r + "`" }},
		{"SAM", []string{"AWS::Serverless::LayerVersion", "ContentUri: bodytrace-x86_64.zip", "LicenseInfo: Apache-2.0"}, "Layers: [!Ref BodytraceLayer]", func(r string) string { return r }},
		{"CDK (TypeScript)", []string{"new lambda.LayerVersion(", "lambda.Code.fromAsset('bodytrace-x86_64.zip')", "license: 'Apache-2.0'"}, "layers: [bodytrace]", cdkRuntime},
		{"Terraform", []string{`resource "aws_lambda_layer_version" "bodytrace"`, `filename                 = "bodytrace-x86_64.zip"`, `license_info             = "Apache-2.0"`}, "layers = [aws_lambda_layer_version.bodytrace.arn]", func(r string) string { return `"` + r + `"` }},
	} {
		s := section(c.title)
		for _, want := range append(c.create, c.attach) {
			if !strings.Contains(s, want) {
				t.Errorf("%s: the snippet lacks %q", c.title, want)
			}
		}
		for _, r := range runtimes {
			if !strings.Contains(s, c.rt(r)) {
				t.Errorf("%s: the snippet does not list runtime %s (%s)", c.title, r, c.rt(r))
			}
		}
	}
	// The SAM snippet is a template fragment that parses, with the layer attached by !Ref.
	sam := section("SAM")
	frag := sam[strings.Index(sam, "```yaml")+len("```yaml") : strings.LastIndex(sam, "```")]
	doc := loadYAML(t, frag)
	layer := get(doc, "Resources", "BodytraceLayer", "Properties")
	if rt := strings_(get(layer, "CompatibleRuntimes")); !slices.Equal(rt, runtimes) {
		t.Errorf("SAM snippet runtimes %v, want %v", rt, runtimes)
	}
	if refs := flatten(get(doc, "Resources", "WebFunction", "Properties", "Layers")); !slices.Equal(refs, []string{"Ref", "BodytraceLayer"}) {
		t.Errorf("SAM snippet attaches %v", refs)
	}
}

// TestSamBuildTarget runs the Makefile target sam build runs for the arm64 layer, and
// checks the tree it stages: the arm64 extension, the wrapper, the Node.js helper.
func TestSamBuildTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the extension")
	}
	dir := t.TempDir()
	cmd := exec.Command("make", "-s", "build-BodytraceLayerArm64", "ARTIFACTS_DIR="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-BodytraceLayerArm64: %v\n%s", err, out)
	}
	for _, f := range []string{"extensions/bodytrace", "bodytrace-wrapper", "bodytrace/node/bodytrace.cjs"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode()&0o100 == 0 && f != "bodytrace/node/bodytrace.cjs" {
			t.Errorf("%s: %v (mode %v)", f, err, st)
		}
	}
	elf, err := os.ReadFile(filepath.Join(dir, "extensions/bodytrace"))
	// e_machine at offset 18: 0xB7 is AArch64.
	if err != nil || len(elf) < 20 || string(elf[1:4]) != "ELF" || elf[18] != 0xB7 {
		t.Errorf("extensions/bodytrace is not an arm64 ELF binary")
	}
}
