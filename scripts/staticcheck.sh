#!/usr/bin/env bash
# Runs staticcheck (honnef.co/go/tools, fetched from the Go module proxy and cached by the
# Go toolchain) on the whole module. Exits non-zero when staticcheck reports anything.
# Usage: scripts/staticcheck.sh [packages...]   (default ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
STATICCHECK_VERSION="${STATICCHECK_VERSION:-v0.8.2}"
if [ "$#" -eq 0 ]; then set -- ./...; fi
# staticcheck exits 1 on findings and prints one "file:line:col: message (CHECK)" per line.
exec go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" "$@"
