#!/usr/bin/env bash
# The offline -A scan of a generated 2,000-Service / 20,000-pod snapshot
# (20 namespaces, a tenth broken) against Python's json.load of the same
# file: medians of RUNS runs (default 5) of wall time and peak RSS, from
# /usr/bin/time. Run from the repository root:
#
#   cargo build --release
#   tests/bench/scan.sh [RUNS]
#
# SVCDISCOVER_SCAN_FILE=PATH keeps the generated snapshot at PATH and reuses
# it when it exists (generating it builds the benchmark: slow).
set -euo pipefail
runs=${1:-5}
bin=${SVCDISCOVER_BIN:-target/release/kubectl-svcdiscover}
[ -x "$bin" ] || { echo "build $bin first (cargo build --release)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file=${SVCDISCOVER_SCAN_FILE:-$dir/scan.json}
# The generator is the criterion benchmark's (tests/bench/diagnose.rs).
if [ ! -s "$file" ]; then
  SVCDISCOVER_BENCH_WRITE=$file cargo bench --bench diagnose -- --test 2k >/dev/null 2>&1
fi
echo "snapshot: $(du -m "$file" | cut -f1) MiB"
measure() { # label, command...
  local label=$1; shift
  local secs=() kbs=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$dir/t" "$@" >/dev/null 2>&1 || true
    read -r s k < <(tail -n 1 "$dir/t")
    secs+=("$s"); kbs+=("$k")
  done
  local ms mk
  ms=$(printf '%s\n' "${secs[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  mk=$(printf '%s\n' "${kbs[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-32s median %6.2f s  peak RSS %5d MiB  runs: %s\n' "$label" "$ms" "$((mk / 1024))" "${secs[*]}"
}
measure "python3 json.load" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$file"
measure "kubectl-svcdiscover -A -o json" "$bin" -A --snapshot "$file" -o json
measure "kubectl-svcdiscover one Service" "$bin" svc-3 -n team-3 --snapshot "$file" -o json
