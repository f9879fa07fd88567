#!/usr/bin/env bash
# Builds the Lambda layer zips: layer/build/bodytrace-<arch>.zip for x86_64 and arm64,
# each holding extensions/bodytrace (static, stripped) and the exec wrapper.
# BODYTRACE_VERSION (scripts/release.sh sets it) is stamped into the extension; without
# it the extension reports the commit it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
ldflags='-s -w'
if [ -n "${BODYTRACE_VERSION:-}" ]; then
	ldflags="$ldflags -X github.com/bodytrace/bodytrace/internal/version.stamped=$BODYTRACE_VERSION"
fi
out=layer/build
rm -rf "$out" && mkdir -p "$out"
for arch in x86_64 arm64; do
	goarch=amd64
	[ "$arch" = arm64 ] && goarch=arm64
	stage="$out/$arch"
	mkdir -p "$stage/extensions"
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath -ldflags="$ldflags" -o "$stage/extensions/bodytrace" ./extension
	install -m 0755 layer/bodytrace-wrapper "$stage/bodytrace-wrapper"
	if [ -d layer/node ]; then
		# The Node.js helper without its tests: only what the runtime loads ships.
		mkdir -p "$stage/bodytrace/node"
		(cd layer/node && find . -name '*.cjs' -not -path './test/*' -exec cp --parents {} "../../$stage/bodytrace/node/" \;)
	fi
	# Fixed timestamps so the same sources give the same zip.
	find "$stage" -exec touch -h -d '2020-01-01T00:00:00Z' {} +
	(cd "$stage" && zip -q -X -r "../bodytrace-$arch.zip" .)
	printf '%s\t%s bytes (binary %s bytes)\n' "$out/bodytrace-$arch.zip" \
		"$(stat -c %s "$out/bodytrace-$arch.zip")" "$(stat -c %s "$stage/extensions/bodytrace")"
done
