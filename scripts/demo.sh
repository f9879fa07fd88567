#!/usr/bin/env bash
# Runs the demo: the layer built by `make layer`, the example functions under the AWS Lambda
# Runtime Interface Emulator, traces in Jaeger v2. Installs what it needs on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-rie.sh >/dev/null
scripts/install-jaeger.sh >/dev/null
scripts/install-ric.sh >/dev/null
exec go run ./scripts/demo
