#!/usr/bin/env bash
# Installs Debian's qemu-user-static if it is missing (the arm64 extension's end-to-end test
# runs the arm64 binary with it), and prints the path of qemu-aarch64-static. Installing
# needs root; an existing one needs nothing.
set -euo pipefail

qemu=/usr/bin/qemu-aarch64-static
if [[ -x "$qemu" ]]; then
  echo "$qemu"
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "bodytrace: qemu-user-static is missing and installing it needs root: sudo apt-get install -y qemu-user-static" >&2
  exit 1
fi
echo "bodytrace: installing Debian's qemu-user-static (first run only)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update >&2
apt-get install -y --no-install-recommends qemu-user-static >&2
echo "$qemu"
