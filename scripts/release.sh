#!/usr/bin/env bash
# Builds a release into dist/<version>/: both layer zips, the CLI for Linux and macOS on
# amd64 and arm64, and SHA256SUMS over them. The version (default: `git describe`, else
# devel+<commit>) is stamped into the extension and the CLI with -ldflags -X.
#   scripts/release.sh [version]        e.g. scripts/release.sh v0.1.0
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
out=dist/$version
rm -rf "$out" && mkdir -p "$out"
export BODYTRACE_VERSION=$version

scripts/build-layer.sh
cp layer/build/bodytrace-x86_64.zip "$out/bodytrace-layer-$version-x86_64.zip"
cp layer/build/bodytrace-arm64.zip "$out/bodytrace-layer-$version-arm64.zip"

ldflags="-s -w -X github.com/bodytrace/bodytrace/internal/version.stamped=$version"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
	os=${target%/*} arch=${target#*/}
	name="bodytrace-$version-$os-$arch"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags="$ldflags" -o "$out/$name/bodytrace" ./scripts/bodytrace
	cp LICENSE README.md "$out/$name/"
	# Fixed timestamps and order so the same sources give the same archive.
	find "$out/$name" -exec touch -h -d '2020-01-01T00:00:00Z' {} +
	tar --sort=name --owner=0 --group=0 --numeric-owner -C "$out" -czf "$out/$name.tar.gz" "$name"
	rm -rf "${out:?}/$name"
done

(cd "$out" && sha256sum -- *.zip *.tar.gz >SHA256SUMS)
cat "$out/SHA256SUMS"
echo "release $version in $out"
