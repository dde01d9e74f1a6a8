# Shared by tests/cluster/up and tests/cluster/down (sourced, not run).
# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this

# The network namespace everything runs in. Every 10.x address below exists
# only on that namespace's own `lo`; nothing is routed off the machine, so a
# second instance (another SVCDISCOVER_CLUSTER_NETNS, another
# SVCDISCOVER_CLUSTER_STATE) can use the very same addresses and ports beside
# the first one.
NETNS=${SVCDISCOVER_CLUSTER_NETNS:-svcdiscover-e2e}
case "$NETNS" in
  *[!a-z0-9-]* | "" | -*) printf 'SVCDISCOVER_CLUSTER_NETNS must be a DNS label: %s\n' "$NETNS" >&2; exit 2 ;;
esac
NODE_NAME=kwok-node-0
NODE_IP=10.250.0.2          # the node's InternalIP, kwok's kubelet port, the apiserver's advertise address
DNS_IP=10.96.0.10           # ClusterIP of kube-system/kube-dns, where CoreDNS listens
API_IP=10.96.0.1            # ClusterIP of default/kubernetes (first of the service range)
SERVICE_CIDR=10.96.0.0/16
POD_CIDR=10.244.0.0/16      # kwok hands out pod IPs from here

# Everything a run creates lives under STATE, except the etcd data (on
# /dev/shm: tmpfs, and etcd runs with --unsafe-no-fsync anyway) and
# /etc/netns/$NETNS (where `ip netns exec` looks for the resolv.conf to
# bind-mount). All three are derived from the instance: the default one
# (namespace svcdiscover-e2e) keeps /tmp/svcdiscover-cluster, another one
# defaults to /tmp/$NETNS.
if [ "$NETNS" = svcdiscover-e2e ]; then
  STATE=${SVCDISCOVER_CLUSTER_STATE:-/tmp/svcdiscover-cluster}
else
  STATE=${SVCDISCOVER_CLUSTER_STATE:-/tmp/$NETNS}
fi
ETCD_DATA=/dev/shm/$NETNS-etcd
NETNS_ETC=/etc/netns/$NETNS

log() { printf '[cluster %s %s] %s\n' "$NETNS" "$(date -u +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# pid_in_netns PID: true if PID is alive and inside our network namespace.
# Pid files can outlive their processes (a crash, a reboot with /tmp kept);
# checking the namespace keeps us from signalling an unrelated process that
# got the same PID.
pid_in_netns() {
  local pid=$1
  [ -n "$pid" ] && [ -e "/proc/$pid" ] || return 1
  [ "$(ip netns identify "$pid" 2>/dev/null)" = "$NETNS" ]
}

# netns_exists: our network namespace exists (exact name: `ip netns list`
# prints "NAME" or "NAME (id: N)").
netns_exists() {
  ip netns list | grep -qx "$NETNS\( (id: [0-9]*)\)\?"
}
