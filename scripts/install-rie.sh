#!/usr/bin/env bash
# Installs the AWS Lambda Runtime Interface Emulator into the bodytrace cache and prints its path.
set -euo pipefail

# Pinned so every machine emulates the same Lambda (see /work/shared/RIE.md for what this version does).
version=v0.0.0-20261030222936-bef5c4ba774d
bin_dir="${BODYTRACE_CACHE:-$HOME/.cache/bodytrace}/bin"
rie="$bin_dir/aws-lambda-rie"

if [[ ! -x "$rie" ]]; then
  echo "bodytrace: installing aws-lambda-rie $version from the Go module proxy (first run only)..." >&2
  mkdir -p "$bin_dir"
  GOBIN="$bin_dir" go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$version"
fi
echo "$rie"
