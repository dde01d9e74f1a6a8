#!/usr/bin/env bash
# Medians of a live diagnosis of service-pay-v1 on the mini cluster, by
# probe mode (docs/testing.md, "Benchmarks"). Run from the repository root
# after `tests/cluster/up`:
#
#   cargo build --release
#   ip netns exec svcdiscover-e2e env $(cat /tmp/svcdiscover-cluster/env) tests/bench/probe.sh [RUNS]
#
# Each mode runs RUNS times (default 7); the median and every run are
# printed, in seconds, with the exit code of the last run.
set -euo pipefail
runs=${1:-7}
bin=${SVCDISCOVER_BIN:-target/release/kubectl-svcdiscover}
export KUBECONFIG=${SVCDISCOVER_E2E_KUBECONFIG:?run inside the test cluster environment}
[ -x "$bin" ] || { echo "build $bin first (cargo build --release)" >&2; exit 2; }
for mode in "--no-probe" "--from client/client" "--probe pod" "--probe local"; do
  times=()
  rc=0
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    # shellcheck disable=SC2086 # the mode is two words
    "$bin" service-pay-v1 -n default $mode -o json >/dev/null 2>&1 && rc=0 || rc=$?
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000000 ))")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-22s median %5d ms  exit %d  runs: %s\n' "$mode" "$median" "$rc" "${times[*]}"
done
