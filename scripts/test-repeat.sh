#!/usr/bin/env bash
# Runs the end-to-end package N times (default 10) and prints each run's outcome and the pass
# count, so anyone can check that `make test` is not flaky. With BUSY=1, one CPU burner per core
# (a plain shell loop at normal priority) runs for the whole time, so the tests race a loaded
# machine. Logs of failed runs are kept in $TMPDIR/bodytrace-repeat-*/.
# Usage: scripts/test-repeat.sh [N] [go test args...]   e.g. scripts/test-repeat.sh 10 -run TestManagedInstances
set -uo pipefail

n="${1:-10}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
logs="$(mktemp -d "${TMPDIR:-/tmp}/bodytrace-repeat-XXXXXX")"
burners=()
stop_burners() { ((${#burners[@]})) && kill "${burners[@]}" 2>/dev/null; burners=(); }
trap stop_burners EXIT
if [[ "${BUSY:-}" == 1 ]]; then
  for _ in $(seq "$(nproc)"); do
    bash -c 'while :; do :; done' &
    burners+=($!)
  done
  echo "test-repeat: ${#burners[@]} CPU burners running (one per core)"
fi

passed=0 failed=0
cd "$root"
for i in $(seq "$n"); do
  start=$SECONDS
  if go test -race -count=1 "$@" ./internal/e2e/ >"$logs/run-$i.log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i: pass ($((SECONDS - start)) s)"
    rm -f "$logs/run-$i.log"
  else
    failed=$((failed + 1))
    echo "run $i: FAIL ($((SECONDS - start)) s): $(grep -E '^\s*--- FAIL' "$logs/run-$i.log" | sed 's/^ *--- FAIL: //; s/ (.*//' | tr '\n' ' ')(log: $logs/run-$i.log)"
  fi
done
echo "test-repeat: $passed passed, $failed failed"
((failed == 0))
