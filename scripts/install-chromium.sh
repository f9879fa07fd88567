#!/usr/bin/env bash
# Installs Debian's Chromium (for the browser check of `bodytrace view`) if it is missing,
# and prints its path. Installing needs root; an existing Chromium needs nothing.
set -euo pipefail

for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [[ -x "$candidate" ]]; then
    echo "$candidate"
    exit 0
  fi
done

if [[ "$(id -u)" != 0 ]]; then
  echo "bodytrace: Chromium is missing and installing it needs root: sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "bodytrace: installing Debian's chromium (first run only)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update >&2
apt-get install -y --no-install-recommends chromium >&2
echo /usr/bin/chromium
