#!/bin/bash
# A custom runtime as in AWS's tutorial: bash and curl, a new connection per request
# (Connection: close), the result posted with Expect: 100-continue. Provided runtimes do
# not run the exec wrapper: with the bodytrace layer attached it opts in itself.
if [[ -z "${FAILOPEN_WRAPPED:-}" && -x /opt/bodytrace-wrapper ]]; then
  export FAILOPEN_WRAPPED=1
  exec /opt/bodytrace-wrapper "$0" "$@"
fi
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
if [[ "${_HANDLER:-}" == initfail ]]; then
  curl -sS -X POST "$api/init/error" -H 'Connection: close' -H 'Lambda-Runtime-Function-Error-Type: Runtime.ExitError' \
    --data-binary '{"errorMessage":"init failed on purpose","errorType":"InitError"}' >/dev/null
  exit 1
fi
body=$(printf '%03000d' 7)
headers=$(mktemp)
while true; do
  curl -sS -H 'Connection: close' -D "$headers" -o /dev/null "$api/invocation/next" || exit 1
  id=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "lambda-runtime-aws-request-id" {print $2}')
  curl -sS -X POST -H 'Connection: close' -H 'Expect: 100-continue' -H 'Content-Type: application/json' \
    --data-binary "{\"body\":\"$body\"}" "$api/invocation/$id/response" >/dev/null || exit 1
done
