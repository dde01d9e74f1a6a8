#!/usr/bin/env bash
# The benchmark against the floor and the peers, on a large simulated cluster.
# Not part of CI: it takes most of an hour on 2 cores. Run as root from the
# repo root:
#
#   tests/bench/peers.sh [--keep] [PHASE...]
#
# Phases, in order (default: all of them):
#   up     start a second cluster instance (network namespace
#          svcdiscover-bench, state /tmp/svcdiscover-bench; not the shared
#          svcdiscover-e2e one) unless it is already up
#   small  on the cluster as `up` leaves it: object counts, one Service
#          diagnosed, the floor and our -A scan
#   grow   tests/bench/grow-cluster: 2,000 Services, 20,000 pods, 300 nodes
#   large  one Service again; the -A scan against the floor, Popeye, k8sgpt
#   doc    parse the scans against the manifest of expected findings and
#          write docs/benchmarks.md
#   down   stop the instance (skipped with --keep)
# A run of every phase starts with an empty results dir; a run of some
# phases adds to it (so `peers.sh doc` rewrites the page from the last run).
#
# Environment: BENCH_RUNS (runs per measurement, default 5), BENCH_RUNS_ONE
# (runs of the single-Service diagnosis, default 7), BENCH_RUNS_K8SGPT
# (default 1: one k8sgpt scan of the large cluster takes many minutes),
# BENCH_K8SGPT_TIMEOUT (seconds before a k8sgpt run is cut, default 900),
# SVCDISCOVER_CLUSTER_NETNS / SVCDISCOVER_CLUSTER_STATE (the instance,
# default svcdiscover-bench and /tmp/svcdiscover-bench),
# SVCDISCOVER_BENCH_RESULTS (default /tmp/svcdiscover-bench-results),
# CARGO_TARGET_DIR (where the release build goes), GROW_ARGS (extra
# arguments for grow-cluster, e.g. "--services 200 --nodes 30" for a quick
# try).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
keep=0
phases=()
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    up | small | grow | large | doc | down) phases+=("$a") ;;
    *) echo "usage: $0 [--keep] [up|small|grow|large|doc|down]..." >&2; exit 2 ;;
  esac
done
all=0
if [ "${#phases[@]}" = 0 ]; then
  all=1
  phases=(up small grow large doc down)
fi

export SVCDISCOVER_CLUSTER_NETNS=${SVCDISCOVER_CLUSTER_NETNS:-svcdiscover-bench}
export SVCDISCOVER_CLUSTER_STATE=${SVCDISCOVER_CLUSTER_STATE:-/tmp/$SVCDISCOVER_CLUSTER_NETNS}
[ "$SVCDISCOVER_CLUSTER_NETNS" != svcdiscover-e2e ] || { echo "refusing to grow the shared e2e cluster" >&2; exit 2; }
export NETNS=$SVCDISCOVER_CLUSTER_NETNS
export ENV_FILE=$SVCDISCOVER_CLUSTER_STATE/env
export RESULTS=${SVCDISCOVER_BENCH_RESULTS:-/tmp/svcdiscover-bench-results}
# The manifest lives with the results: `down` removes the state dir.
export GROW=$RESULTS/bench-grow.json
runs=${BENCH_RUNS:-5}
runs_one=${BENCH_RUNS_ONE:-7}
runs_k8sgpt=${BENCH_RUNS_K8SGPT:-1}
target=${CARGO_TARGET_DIR:-$root/target}
ours=$target/release/kubectl-svcdiscover
log() { printf '[bench %s] %s\n' "$(date -u +%T)" "$*" >&2; }

[ "$all" = 0 ] || rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# inns CMD...: run CMD inside the instance with its env.
inns() {
  # shellcheck disable=SC2046 # the env file holds KEY=value words without spaces
  ip netns exec "$NETNS" env $(cat "$ENV_FILE") "$@"
}
measure() { python3 tests/bench/peers.py measure "$@"; }
counts() { inns tests/bench/grow-cluster --count-only; }

# The peers and our release build (both cached: a rebuild is quick).
peer_bins() {
  [ -s "$RESULTS/peers.txt" ] || tests/bench/build-peers >"$RESULTS/peers.txt"
  k8sgpt=$(awk '$1 == "k8sgpt" {print $3}' "$RESULTS/peers.txt")
  k8sgpt_version=$(awk '$1 == "k8sgpt" {print $2}' "$RESULTS/peers.txt")
  popeye=$(awk '$1 == "popeye" {print $3}' "$RESULTS/peers.txt")
  popeye_version=$(awk '$1 == "popeye" {print $2}' "$RESULTS/peers.txt")
}
build_ours() {
  log "cargo build --release"
  cargo build --release --offline --quiet
}

kubeconfig() { sed -n 's/^SVCDISCOVER_E2E_KUBECONFIG=//p' "$ENV_FILE"; }
kubectl_bin() { sed -n 's/^SVCDISCOVER_E2E_KUBECTL=//p' "$ENV_FILE"; }

# The commands measured (also written into the doc, as run).
one_cmd() { echo "$ours" service-pay-v1 -n default --no-probe -o json; }
floor_cmd() { echo "$(kubectl_bin)" get services,endpointslices,pods -A -o json; }
scan_cmd() { echo "$ours" -A -o json; }  # a scan never probes (--no-probe is refused with -A)

for phase in "${phases[@]}"; do
  case "$phase" in
    up)
      log "bringing up $NETNS"
      SVCDISCOVER_CLUSTER_API_QPS=${SVCDISCOVER_CLUSTER_API_QPS:-400} tests/cluster/up >/dev/null
      ;;
    small)
      build_ours
      log "small cluster: counts and measurements"
      counts >"$RESULTS/small-counts.json"
      # shellcheck disable=SC2046 # word splitting of the command is intended
      measure small-one-ours "$runs_one" -- env KUBECONFIG="$(kubeconfig)" $(one_cmd)
      # shellcheck disable=SC2046
      measure small-floor "$runs" --discard -- $(floor_cmd) --kubeconfig "$(kubeconfig)"
      # shellcheck disable=SC2046
      measure small-scan-ours "$runs" -- env KUBECONFIG="$(kubeconfig)" $(scan_cmd)
      ;;
    grow)
      log "growing the cluster (tens of minutes on 2 busy cores)"
      # shellcheck disable=SC2086 # GROW_ARGS are words
      inns tests/bench/grow-cluster --out "$GROW" ${GROW_ARGS:-}
      ;;
    large)
      build_ours
      peer_bins
      log "large cluster: measurements"
      home=$RESULTS/k8sgpt-home
      rm -rf "$home" && mkdir -p "$home"/{config,cache,data}
      # shellcheck disable=SC2046
      measure large-one-ours "$runs_one" -- env KUBECONFIG="$(kubeconfig)" $(one_cmd)
      # shellcheck disable=SC2046
      measure large-floor "$runs" --discard -- $(floor_cmd) --kubeconfig "$(kubeconfig)"
      # shellcheck disable=SC2046
      measure large-scan-ours "$runs" -- env KUBECONFIG="$(kubeconfig)" $(scan_cmd)
      measure large-scan-popeye "$runs" -- env KUBECONFIG="$(kubeconfig)" \
        "$popeye" -A -s svc,po -o json --force-exit-zero
      measure large-scan-k8sgpt "$runs_k8sgpt" -- env KUBECONFIG="$(kubeconfig)" HOME="$home" \
        XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" XDG_DATA_HOME="$home/data" \
        timeout "${BENCH_K8SGPT_TIMEOUT:-900}" "$k8sgpt" analyze --filter Service,Pod --output json --kubeconfig "$(kubeconfig)"
      ;;
    doc)
      peer_bins
      [ -s "$RESULTS/small-counts.json" ] || echo '{}' >"$RESULTS/small-counts.json"
      python3 tests/bench/peers.py caught >/dev/null
      k8s=$(inns "$(kubectl_bin)" --kubeconfig "$(kubeconfig)" version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])' || echo '?')
      bin_dir=$(dirname "$(kubectl_bin)")
      mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
      facts_env=(
        "machine=$(nproc) cores, $mem, kernel $(uname -r)"
        "load=load average $(cut -d' ' -f1-3 /proc/loadavg) when the page was written (other builds beside it); each run's 1-minute load is in runs.jsonl"
        "this tool=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' (with uncommitted changes)'), release build"
        "Kubernetes=$k8s (kube-apiserver, kube-controller-manager, kube-scheduler), etcd $("$bin_dir/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p')"
        "kwok=$("$bin_dir/kwok" --version 2>/dev/null | head -1) (patched, see docs/testing.md)"
        "k8sgpt=$k8sgpt_version (built from its Go module by tests/bench/build-peers)"
        "popeye=$popeye_version (built from its Go module by tests/bench/build-peers)"
        "Go=$(go version | cut -d' ' -f3)"
        "Rust=$(rustc --version)"
        "date=$(date -u +'%F %H:%M UTC')"
      )
      cmds=(
        "$(one_cmd)"
        "$(floor_cmd) > /dev/null"
        "$(scan_cmd)"
        "popeye -A -s svc,po -o json --force-exit-zero"
        "HOME=\$PRIVATE XDG_CONFIG_HOME=… k8sgpt analyze --filter Service,Pod --output json --kubeconfig \$KUBECONFIG"
      )
      python3 - "$RESULTS/facts.json" "$RESULTS/small-counts.json" "${facts_env[@]}" -- "${cmds[@]}" <<'EOF'
import json, sys
out, small, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
i = rest.index("--")
facts = dict(kv.split("=", 1) for kv in rest[:i])
facts["commands"] = [c.replace("/var/cache/svcdiscover-cluster/", "$CACHE/") for c in rest[i + 1:]]
facts["small_counts"] = json.load(open(small))
json.dump(facts, open(out, "w"), indent=1)
EOF
      python3 tests/bench/peers.py report >docs/benchmarks.md.new
      mv docs/benchmarks.md.new docs/benchmarks.md
      log "wrote docs/benchmarks.md"
      ;;
    down)
      if [ "$keep" = 1 ]; then
        log "keeping $NETNS up (--keep)"
      else
        tests/cluster/down
      fi
      ;;
  esac
done
