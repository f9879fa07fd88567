#!/usr/bin/env bash
# Installs the AWS Lambda Node.js runtime interface client (aws-lambda-ric) into the bodytrace
# cache and prints the package directory. It is what Lambda's managed Node.js runtime runs.
set -euo pipefail

# 3.3.0 is the last release that supports Node 20 (4.x wants Node 22).
version=3.3.0
node_dir="${BODYTRACE_CACHE:-$HOME/.cache/bodytrace}/node"
pkg="$node_dir/node_modules/aws-lambda-ric"

if [[ ! -f "$pkg/dist/rapid-client.node" || "$(node -p "require('$pkg/package.json').version" 2>/dev/null)" != "$version" ]]; then
  # Its install script builds libcurl and a native Runtime API client from source.
  deps=(cmake autoconf automake libtool g++ make)
  missing=()
  for dep in "${deps[@]}"; do
    dpkg -s "$dep" >/dev/null 2>&1 || missing+=("$dep")
  done
  if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
      echo "bodytrace: aws-lambda-ric needs these Debian packages to build: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
      exit 1
    fi
    echo "bodytrace: installing build tools for aws-lambda-ric: ${missing[*]}..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi

  echo "bodytrace: installing aws-lambda-ric@$version from npm (first run only, ~2 minutes)..." >&2
  mkdir -p "$node_dir"
  [[ -f "$node_dir/package.json" ]] || echo '{"private": true}' >"$node_dir/package.json"
  (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error "aws-lambda-ric@$version" >&2)
  if [[ ! -f "$pkg/dist/rapid-client.node" ]]; then
    echo "bodytrace: aws-lambda-ric installed but its native client $pkg/dist/rapid-client.node was not built" >&2
    exit 1
  fi
fi
echo "$pkg"
