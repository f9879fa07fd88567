#!/usr/bin/env bash
# Installs the npm dependencies of examples/node-failures (the real @sentry/aws-serverless for the
# "wrapper drops the streaming marker" case) into the bodytrace cache and prints the node_modules
# folder, which the end-to-end harness mounts at /var/task/node_modules. Cached: reinstalls only
# when examples/node-failures/package.json changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/examples/node-failures/package.json"
dir="${BODYTRACE_CACHE:-$HOME/.cache/bodytrace}/node-failures"
modules="$dir/node_modules"

# .installed is a copy of the package.json of the last install that completed.
if ! cmp -s "$src" "$dir/.installed" || [[ ! -d "$modules" ]]; then
  echo "bodytrace: installing the Node.js failure examples' dependencies from npm into $dir..." >&2
  mkdir -p "$dir"
  rm -f "$dir/.installed"
  cp "$src" "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error >&2)
  cp "$src" "$dir/.installed"
fi
echo "$modules"
