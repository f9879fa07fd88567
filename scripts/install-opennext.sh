#!/usr/bin/env bash
# Builds examples/opennext (a real Next.js app, @opennextjs/aws, @sentry/nextjs; exact versions in
# its package-lock.json) with both OpenNext server wrappers into the bodytrace cache, and prints
# one line per build: "<wrapper> <folder>", the folder being OpenNext's server function
# (.open-next/server-functions/default, handler index.handler), ready to copy to /var/task.
# Cached: npm packages are reinstalled only when the lockfile changes, and the app is rebuilt only
# when its sources (or this script) change. Concurrent runs wait for each other.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/examples/opennext"
cache="${BODYTRACE_CACHE:-$HOME/.cache/bodytrace}/opennext"
work="$cache/app"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# The wrappers built, each with its OpenNext configuration file.
wrappers=(aws-lambda aws-lambda-streaming)
declare -A configs=([aws-lambda]=open-next.config.ts [aws-lambda-streaming]=open-next.streaming.config.ts)

sources() { (cd "$src" && find . -type f -not -path './node_modules/*' -not -path './.next/*' -not -path './.open-next/*' | LC_ALL=C sort); }
key=$( (cd "$src" && sources | xargs sha256sum; sha256sum "$root/scripts/install-opennext.sh" | cut -d' ' -f1) | sha256sum | cut -c1-16)
out="$cache/build-$key"

export SENTRYCLI_SKIP_DOWNLOAD=1 NEXT_TELEMETRY_DISABLED=1

if [[ ! -f "$out/.built" ]]; then
  lock_key=$(cat "$src/package.json" "$src/package-lock.json" "$src/.npmrc" | sha256sum | cut -c1-16)
  if [[ "$(cat "$work/.installed" 2>/dev/null)" != "$lock_key" ]]; then
    echo "bodytrace: installing the OpenNext example's npm packages into $work (first run only, ~1 minute)..." >&2
    rm -rf "$work"
    mkdir -p "$work"
    cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$work/"
    # --ignore-scripts: the Sentry CLI's install script would download a binary; nothing here needs it.
    (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    echo "$lock_key" >"$work/.installed"
  fi
  # The app's sources replace the previous ones; node_modules stays.
  find "$work" -mindepth 1 -maxdepth 1 -not -name node_modules -not -name .installed -not -name package.json \
    -not -name package-lock.json -not -name .npmrc -exec rm -rf {} +
  (cd "$src" && sources | tar -cf - -T -) | tar -xf - -C "$work"
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  for w in "${wrappers[@]}"; do
    echo "bodytrace: building the OpenNext example with the $w wrapper (~1 minute)..." >&2
    (cd "$work" && rm -rf .next .open-next && node node_modules/@opennextjs/aws/dist/index.js build --config-path "${configs[$w]}" >&2)
    mv "$work/.open-next" "$out.tmp/$w"
  done
  touch "$out.tmp/.built"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  # Older builds (other sources) are dropped.
  find "$cache" -mindepth 1 -maxdepth 1 -name 'build-*' -not -name "build-$key" -exec rm -rf {} +
fi
for w in "${wrappers[@]}"; do
  echo "$w $out/$w/server-functions/default"
done
