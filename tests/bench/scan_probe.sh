#!/usr/bin/env bash
# Medians of a probed scan on the mini cluster (docs/testing.md,
# "Benchmarks"): a namespace of its own with SERVICES headless Services
# (default 50), scanned with --no-probe, --probe pod and --probe local,
# beside one single-Service --probe pod run (a scan without the merged
# probe would make one per Service). Run from the repository root after
# `tests/cluster/up`:
#
#   cargo build --release
#   ip netns exec svcdiscover-e2e env $(cat /tmp/svcdiscover-cluster/env) tests/bench/scan_probe.sh [RUNS] [SERVICES]
#
# Each command runs RUNS times (default 3); the median and every run are
# printed, in seconds, with the number of name-form rows observed. The
# namespace and its ClusterExec are deleted on exit.
set -euo pipefail
runs=${1:-3}
services=${2:-50}
bin=${SVCDISCOVER_BIN:-target/release/kubectl-svcdiscover}
export KUBECONFIG=${SVCDISCOVER_E2E_KUBECONFIG:?run inside the test cluster environment}
kubectl=${SVCDISCOVER_E2E_KUBECTL:?run inside the test cluster environment}
[ -x "$bin" ] || { echo "build $bin first (cargo build --release)" >&2; exit 2; }
ns=bench-scan-probe-$$
dir=$(mktemp -d)
cleanup() {
  "$kubectl" delete clusterexec "exec-$ns" --ignore-not-found >/dev/null 2>&1 || true
  "$kubectl" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$ns"
  # exec into its pods works with the namespace's search list (docs/testing.md).
  printf -- '---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterExec\nmetadata:\n  name: exec-%s\nspec:\n  selector:\n    matchNamespaces: [%s]\n  execs:\n  - local:\n      workDir: /tmp\n      envs:\n      - {name: LOCALDOMAIN, value: "%s.svc.cluster.local svc.cluster.local cluster.local"}\n      - {name: RES_OPTIONS, value: "ndots:5"}\n' "$ns" "$ns" "$ns"
  for i in $(seq 0 $((services - 1))); do
    printf -- '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%d\n  namespace: %s\nspec:\n  clusterIP: None\n  selector:\n    app: svc-%d\n  ports:\n  - port: 80\n' "$i" "$ns" "$i"
  done
} | "$kubectl" apply -f - >/dev/null
until "$kubectl" get serviceaccount default -n "$ns" >/dev/null 2>&1; do sleep 0.5; done
measure() { # label, args...
  local label=$1; shift
  local times=() rc=0 observed
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$bin" "$@" -o json >"$dir/out.json" 2>/dev/null && rc=0 || rc=$?
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000000 ))")
  done
  observed=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
reports = d.get("reports", [d])
rows = [x for r in reports for x in r["name_forms"]]
seen = sum(1 for x in rows if x.get("observed"))
print(f"{seen}/{len(rows)}")' "$dir/out.json")
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-34s median %8.2f s  exit %d  rows observed %s  runs (ms): %s\n' \
    "$label" "$(echo "$median / 1000" | bc -l)" "$rc" "$observed" "${times[*]}"
}
echo "namespace $ns: $services Services"
measure "scan --no-probe" --all -n "$ns" --no-probe
measure "scan --probe pod" --all -n "$ns" --probe pod --probe-timeout 10m
measure "scan --probe local" --all -n "$ns" --probe local --probe-timeout 10m
measure "one Service --probe pod" svc-0 -n "$ns" --probe pod
