#!/usr/bin/env bash
# `--wait` on the mini cluster (docs/ci.md, docs/testing.md "Benchmarks"):
# how long after a fix the wait ends, and how many API requests it made.
# Run from the repository root after `tests/cluster/up`:
#
#   cargo build --release
#   ip netns exec svcdiscover-e2e env $(cat /tmp/svcdiscover-cluster/env) tests/bench/wait.sh [RUNS]
#
# Each run: a Deployment whose image cannot be pulled (registry.invalid/)
# behind a Service, in a namespace of its own (gate-bench-…); `--wait 60s
# --no-probe` started; 3 s later the image fixed. Prints the median time
# from the fix to the exit, each run's time, exit code and verdict, and the
# requests of one run by verb (from the audit log, through an impersonated
# user), beside a plain run and a wait that passes at once.
set -euo pipefail
runs=${1:-5}
bin=${SVCDISCOVER_BIN:-target/release/kubectl-svcdiscover}
export KUBECONFIG=${SVCDISCOVER_E2E_KUBECONFIG:?run inside the test cluster environment}
kubectl=${SVCDISCOVER_E2E_KUBECTL:?}
audit=${SVCDISCOVER_E2E_AUDIT_LOG:?}
[ -x "$bin" ] || { echo "build $bin first (cargo build --release)" >&2; exit 2; }
k() { "$kubectl" --kubeconfig "$KUBECONFIG" "$@"; }
tag=gate-bench-$$
ns=$tag
out=$(mktemp -d)
trap 'k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; rm -rf "$out"' EXIT

# Requests by verb of an impersonated user, from the audit log.
requests() {
  sleep 2
  python3 - "$1" "$audit" <<'PY'
import collections, json, sys
user, log = sys.argv[1], sys.argv[2]
ids = {}
with open(log) as f:
    for line in f:
        if user not in line:
            continue
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("impersonatedUser", {}).get("username") == user:
            ids[e["auditID"]] = e["verb"]
c = collections.Counter(ids.values())
print(len(ids), " ".join(f"{v}={n}" for v, n in sorted(c.items())))
PY
}
as() { echo --as "$tag-$1" --as-group system:masters; }

# shellcheck disable=SC2046 # as() prints four words
"$bin" service-pay-v1 -n default --no-probe $(as plain) -o json >/dev/null || true
echo "plain run (service-pay-v1):           requests $(requests "$tag-plain")"
# shellcheck disable=SC2046
"$bin" service-pay-v1 -n default --no-probe --wait 30s $(as once) -o json >/dev/null || true
echo "--wait passing at once:               requests $(requests "$tag-once")"

k create namespace "$ns" >/dev/null
times=()
for i in $(seq "$runs"); do
  k -n "$ns" create deployment "m$i" --image=registry.invalid/x:1 >/dev/null
  k -n "$ns" create service clusterip "m$i" --tcp=80:8080 >/dev/null
  sleep 4
  # shellcheck disable=SC2046
  "$bin" "m$i" -n "$ns" --no-probe --wait 60s $(as "fix$i") -o json >"$out/r.json" 2>"$out/err" &
  pid=$!
  sleep 3
  start=$(date +%s%N)
  k -n "$ns" set image "deployment/m$i" "x=registry.k8s.io/pause:3.10" >/dev/null
  rc=0
  wait "$pid" || rc=$?
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  times+=("$ms")
  verdict=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$out/r.json")
  echo "run $i: ${ms} ms after the fix, exit $rc, $verdict, requests $(requests "$tag-fix$i")"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
echo "median from the fix to the exit: ${median} ms (runs: ${times[*]})"
