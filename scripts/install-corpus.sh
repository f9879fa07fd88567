#!/usr/bin/env bash
# Installs the npm dependencies of every case of the real-world corpus (examples/corpus/<case>,
# and a case's twin/ folder when its healthy twin needs other package versions) into the
# bodytrace cache, exactly as each committed package-lock.json pins them, and prints one line
# per folder: "<folder relative to examples/corpus> <node_modules path>". The end-to-end tests
# mount that node_modules at /var/task/node_modules. Cached: a folder is reinstalled only when
# its package-lock.json changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${BODYTRACE_CACHE:-$HOME/.cache/bodytrace}/corpus"

cd "$root/examples/corpus"
for lock in $(find . -name package-lock.json -not -path '*/node_modules/*' | sort); do
  rel="$(dirname "${lock#./}")"
  dir="$cache/$rel"
  # .installed is a copy of the lockfile of the last install that completed.
  if ! cmp -s "$lock" "$dir/.installed" || [[ ! -d "$dir/node_modules" ]]; then
    echo "bodytrace: installing corpus case $rel from npm into $dir..." >&2
    mkdir -p "$dir"
    rm -rf "$dir/.installed" "$dir/node_modules"
    cp "$rel/package.json" "$lock" "$dir/"
    # --ignore-scripts: no case needs an install script, and none may download anything else.
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    cp "$lock" "$dir/.installed"
  fi
  echo "$rel $dir/node_modules"
done
