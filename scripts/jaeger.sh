#!/usr/bin/env bash
# Runs Jaeger v2 in memory on loopback for local runs and end-to-end tests.
#   jaeger.sh start  start it in the background (no-op if running); prints the OTLP HTTP endpoint
#   jaeger.sh wait   block until the query API answers (60 s at most)
#   jaeger.sh stop   stop the instance started by `start`
# Ports: OTLP gRPC 4317, OTLP HTTP 4318, query API 16686 (/api/traces/<id>; no web UI in this build).
set -euo pipefail

run_dir="${BODYTRACE_RUN:-/tmp/bodytrace-run}"
pid_file="$run_dir/jaeger.pid"
log_file="$run_dir/jaeger.log"
query=http://127.0.0.1:16686

running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "${1:-}" in
start)
  if ! running; then
    jaeger="$("$(dirname "${BASH_SOURCE[0]}")/install-jaeger.sh")"
    mkdir -p "$run_dir"
    # The embedded all-in-one config binds receivers to $JAEGER_LISTEN_HOST; the query
    # extension ignores it and defaults to all interfaces, hence the endpoint flags.
    # Its self-tracing is off: it adds a "jaeger" service to every query and keeps
    # retrying its export to 4317 after shutdown, so SIGTERM alone never ends the process.
    JAEGER_LISTEN_HOST=127.0.0.1 setsid "$jaeger" \
      --set=extensions.jaeger_query.http.endpoint=127.0.0.1:16686 \
      --set=extensions.jaeger_query.grpc.endpoint=127.0.0.1:16685 \
      --set=extensions.jaeger_query.enable_tracing=false \
      >"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
  fi
  echo http://127.0.0.1:4318
  ;;
wait)
  for _ in $(seq 120); do
    curl -fsS -o /dev/null "$query/api/services" 2>/dev/null && exit 0
    running || { echo "bodytrace: jaeger is not running; see $log_file" >&2; exit 1; }
    sleep 0.5
  done
  echo "bodytrace: jaeger's query API did not answer within 60 s; see $log_file" >&2
  exit 1
  ;;
stop)
  if running; then
    pid="$(cat "$pid_file")"
    kill "$pid"
    # Wait until it has released its ports, so a following start can bind them.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  ;;
*)
  echo "usage: $0 start|wait|stop" >&2
  exit 2
  ;;
esac
