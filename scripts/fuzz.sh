#!/usr/bin/env bash
# Runs every fuzz target of bodytrace for FUZZTIME each (default 60s), one after the other
# (go test -fuzz takes one target at a time). The seed corpora under testdata/fuzz also
# run as ordinary tests in `make test`; new failing inputs are written there by go test.
#   FUZZTIME=10m scripts/fuzz.sh            all targets
#   scripts/fuzz.sh FuzzProxyStream         only the named targets
# Prints, per target, the executions and the corpus size go test reported.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-60s}"
# "<module folder> <package> <target>": steps/ is a module of its own.
targets=(
  ". ./internal/runtimeproxy FuzzProxyBuffered"
  ". ./internal/runtimeproxy FuzzProxyStream"
  ". ./internal/runtimeproxy FuzzProxyNext"
  "steps ./line FuzzParse"
  ". ./internal/telemetry FuzzParseBatch"
)

selected=()
for t in "${targets[@]}"; do
  if (($# == 0)); then selected+=("$t"); continue; fi
  for want in "$@"; do [[ "${t##* }" == "$want" ]] && selected+=("$t"); done
done
if ((${#selected[@]} == 0)); then
  echo "fuzz.sh: no target matches: $*" >&2
  exit 2
fi

summary=()
status=0
for t in "${selected[@]}"; do
  read -r dir pkg name <<<"$t"
  echo "== $name ($pkg) for $fuzztime"
  log="$(mktemp)"
  if go test -C "$dir" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
    result=ok
  else
    result=FAIL
    status=1
  fi
  # The last progress line: "fuzz: elapsed: 1m0s, execs: 123 (2/sec), new interesting: 4 (total: 9)"
  last="$(grep -E '^fuzz: elapsed: .*execs:' "$log" | tail -n1 || true)"
  execs="$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")"
  corpus="$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")"
  summary+=("$(printf '%-18s %-5s execs=%-10s corpus=%s' "$name" "$result" "${execs:-?}" "${corpus:-?}")")
  rm -f "$log"
done

echo
echo "== fuzz summary (FUZZTIME=$fuzztime)"
printf '%s\n' "${summary[@]}"
exit "$status"
