#!/bin/bash
set -euo pipefail
if [[ -x /var/lang/bin/node ]]; then
  node=/var/lang/bin/node entry=/var/runtime/index.mjs
else
  node="$(command -v node)" entry=/opt/ric/bin/index.mjs
fi
handler="${_HANDLER:-}"
if [[ -z "$handler" && $# -gt 0 ]]; then handler="${!#}"; fi
if [[ -n "${AWS_LAMBDA_EXEC_WRAPPER:-}" ]]; then
  exec "$AWS_LAMBDA_EXEC_WRAPPER" "$node" "$entry" "$handler"
fi
exec "$node" "$entry" "$handler"
