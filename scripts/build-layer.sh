#!/usr/bin/env bash
# Builds the Lambda layer zips: layer/build/bodytrace-<arch>.zip for x86_64 and arm64,
# each holding extensions/bodytrace (static, stripped) and the exec wrapper.
#   scripts/build-layer.sh                  both zips in layer/build
#   scripts/build-layer.sh --stage ARCH DIR the layer's tree for ARCH into DIR, unzipped
#                                           (sam build: make build-BodytraceLayerX86 / ...Arm64)
# BODYTRACE_VERSION (scripts/release.sh sets it) is stamped into the extension; without
# it the extension reports the commit it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
ldflags='-s -w'
if [ -n "${BODYTRACE_VERSION:-}" ]; then
	ldflags="$ldflags -X github.com/bodytrace/bodytrace/internal/version.stamped=$BODYTRACE_VERSION"
fi

# stage ARCH DIR: extensions/bodytrace, the wrapper and the Node.js helper under DIR.
stage() {
	local arch=$1 dir=$2 goarch=amd64
	[ "$arch" = arm64 ] && goarch=arm64
	mkdir -p "$dir/extensions"
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath -ldflags="$ldflags" -o "$dir/extensions/bodytrace" ./extension
	install -m 0755 layer/bodytrace-wrapper "$dir/bodytrace-wrapper"
	if [ -d layer/node ]; then
		# The Node.js helper without its tests: only what the runtime loads ships.
		local abs
		abs=$(cd "$dir" && pwd)
		mkdir -p "$abs/bodytrace/node"
		(cd layer/node && find . \( -name '*.cjs' -o -name '*.json' \) -not -path './test/*' -exec cp --parents {} "$abs/bodytrace/node/" \;)
	fi
}

if [ "${1:-}" = --stage ]; then
	[ $# -eq 3 ] || { echo "usage: $0 --stage x86_64|arm64 DIR" >&2; exit 2; }
	case $2 in x86_64 | arm64) ;; *) echo "unknown architecture $2" >&2; exit 2 ;; esac
	stage "$2" "$3"
	exit 0
fi

out=layer/build
rm -rf "$out" && mkdir -p "$out"
for arch in x86_64 arm64; do
	dir="$out/$arch"
	stage "$arch" "$dir"
	# Fixed timestamps so the same sources give the same zip.
	find "$dir" -exec touch -h -d '2020-01-01T00:00:00Z' {} +
	(cd "$dir" && zip -q -X -r "../bodytrace-$arch.zip" .)
	printf '%s\t%s bytes (binary %s bytes)\n' "$out/bodytrace-$arch.zip" \
		"$(stat -c %s "$out/bodytrace-$arch.zip")" "$(stat -c %s "$dir/extensions/bodytrace")"
done
