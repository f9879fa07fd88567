package localrun

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMountScript checks that the embedded namespace script parses and still ends by
// handing over to the emulator on the ports launch chose.
func TestMountScript(t *testing.T) {
	if b, err := exec.Command("sh", "-n", "-c", mountScript).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSuffix(mountScript, "\n"), "\n")
	for _, want := range []string{
		"set -eu",
		`mount --bind "$E2E_TASK" /var/task`,
		`exec "$E2E_RIE" --runtime-interface-emulator-address "127.0.0.1:$E2E_INVOKE_PORT" --runtime-api-address "127.0.0.1:$E2E_API_PORT" "$@"`,
	} {
		if !contains(lines, want) {
			t.Errorf("the mount script has no line %q", want)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, `exec "$E2E_RIE"`) {
		t.Errorf("the mount script ends with %q, not the emulator's exec", last)
	}
}

// TestNodeBootstrap runs the embedded bootstrap with a stand-in node and wrapper (each
// prints its arguments) and checks which handler reaches the runtime client: the emulator's
// classic mode passes it as the last argument and in _HANDLER, Managed Instances in
// _HANDLER only.
func TestNodeBootstrap(t *testing.T) {
	if !strings.HasPrefix(nodeBootstrap, "#!/bin/bash\n") {
		t.Fatalf("the bootstrap does not start with its interpreter line: %q", nodeBootstrap[:min(len(nodeBootstrap), 40)])
	}
	if _, err := os.Stat("/var/lang/bin/node"); err == nil {
		t.Fatal("/var/lang/bin/node exists on this machine: the bootstrap would not use the stand-in node")
	}
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	node := filepath.Join(dir, "bin", "node")
	wrapper := filepath.Join(dir, "wrapper")
	for path, text := range map[string]string{
		bootstrap: nodeBootstrap,
		node:      "#!/bin/sh\necho node \"$@\"\n",
		wrapper:   "#!/bin/sh\necho wrapper \"$@\"\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"classic", []string{"index.handler"}, []string{"_HANDLER=index.handler"}, "node /opt/ric/bin/index.mjs index.handler"},
		{"managed instances", nil, []string{"_HANDLER=index.stream"}, "node /opt/ric/bin/index.mjs index.stream"},
		{"last argument", []string{"-x", "index.other"}, nil, "node /opt/ric/bin/index.mjs index.other"},
		{"exec wrapper", []string{"index.handler"}, []string{"_HANDLER=index.handler", "AWS_LAMBDA_EXEC_WRAPPER=" + wrapper},
			"wrapper " + node + " /opt/ric/bin/index.mjs index.handler"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bootstrap, c.args...)
			cmd.Env = append([]string{"PATH=" + filepath.Dir(node) + ":/usr/bin:/bin"}, c.env...)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bootstrap: %v\n%s", err, b)
			}
			if got := strings.TrimSpace(string(b)); got != c.want {
				t.Errorf("bootstrap ran %q, want %q", got, c.want)
			}
		})
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
