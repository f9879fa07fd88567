#!/usr/bin/env bash
# Builds Jaeger v2 from the tools module in scripts/tools/jaeger into the bodytrace cache and
# prints the binary's path. The build has no web UI; use the query API on 16686.
set -euo pipefail

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/tools/jaeger" && pwd)"
bin_dir="${BODYTRACE_CACHE:-$HOME/.cache/bodytrace}/bin"
jaeger="$bin_dir/jaeger"
mkdir -p "$bin_dir"

# The build matches the pinned version while the stamp holds go.sum's hash (mtimes would
# change with every fresh clone); rebuild when the pin moves.
stamp="$bin_dir/jaeger.go.sum.sha256"
want="$(sha256sum "$tools_dir/go.sum" | cut -d' ' -f1)"
current() { [[ -x "$jaeger" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; }
if ! current; then
  # Serialise concurrent callers (parallel test packages) on one build; recheck once we hold the lock.
  exec 9>"$bin_dir/.jaeger.lock"
  flock 9
  if ! current; then
    echo "bodytrace: building Jaeger v2 from the Go module proxy (first run only, ~9 minutes)..." >&2
    # Build beside the target and rename, so an interrupted build never leaves a half-written binary.
    (cd "$tools_dir" && go build -o "$jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
    mv -f "$jaeger.tmp" "$jaeger"
    echo "$want" >"$stamp"
  fi
  exec 9>&-
fi
echo "$jaeger"
