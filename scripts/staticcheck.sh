#!/usr/bin/env bash
# Runs staticcheck (honnef.co/go/tools, fetched from the Go module proxy and cached by the
# Go toolchain) on both modules: the repository's and steps/ (its own module). Exits
# non-zero when staticcheck reports anything.
# Usage: scripts/staticcheck.sh [packages...]   (default: ./... of each module)
set -euo pipefail
cd "$(dirname "$0")/.."
STATICCHECK_VERSION="${STATICCHECK_VERSION:-v0.8.2}"
staticcheck() { go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" "$@"; }
# staticcheck exits 1 on findings and prints one "file:line:col: message (CHECK)" per line.
if [ "$#" -gt 0 ]; then
  staticcheck "$@"
  exit
fi
staticcheck ./...
cd steps && staticcheck ./...
