//! `probe::resolve_local` against the real cluster: the library asks the
//! real CoreDNS through a kube-rs port-forward to its pod (kwok forwards the
//! pod's port 53 to the CoreDNS process, tests/cluster/manifests/kwok-exec.yaml)
//! and replays glibc's search.

use std::time::{Duration, Instant};

use svcdiscover::analysis::ResolverConf;
use svcdiscover::model::{ObservedRcode, ObservedStatus};
use svcdiscover::probe::{
    LocalError, LocalObservation, ProbeRequest, TypedName, resolve_local, wildcard_checks,
};

use crate::cluster::*;

/// A namespace of this module's own, deleted afterwards.
const NS: &str = "e2e-local-probe";
const TIMEOUT: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A kube client from the admin kubeconfig, impersonating `as_user` if given.
async fn client(c: &Cluster, as_user: Option<&str>) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(&c.kubeconfig).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    config.auth_info.impersonate = as_user.map(str::to_owned);
    kube::Client::try_from(config).unwrap()
}

/// The CoreDNS pod (label `k8s-app=kube-dns` in kube-system).
fn dns_pod(c: &Cluster) -> String {
    let r = c.kubectl(&[
        "get",
        "pods",
        "-n",
        "kube-system",
        "-l",
        "k8s-app=kube-dns",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .split_whitespace()
        .next()
        .expect("a pod labelled k8s-app=kube-dns")
        .to_owned()
}

/// The typed names as a pod of `client_ns` would try them.
fn request(client_ns: &str, typed: &[&str]) -> (ProbeRequest, ResolverConf) {
    let conf = ResolverConf::cluster_first(client_ns, "cluster.local");
    let names = typed
        .iter()
        .map(|t| TypedName::from_conf(t, &conf))
        .collect();
    let req =
        ProbeRequest::new(names, wildcard_checks("svcdiscover-absent-e2e", &conf), 5).unwrap();
    (req, conf)
}

fn observe(
    c: &Cluster,
    as_user: Option<&str>,
    pod: &str,
    client_ns: &str,
    typed: &[&str],
) -> Result<LocalObservation, LocalError> {
    let (req, conf) = request(client_ns, typed);
    runtime().block_on(async {
        let client = client(c, as_user).await;
        resolve_local(client, ("kube-system", pod), &req, &conf, TIMEOUT).await
    })
}

fn rcodes(obs: &LocalObservation, typed: &str) -> Vec<ObservedRcode> {
    obs.observed(typed)
        .unwrap()
        .candidates
        .iter()
        .map(|c| c.rcode)
        .collect()
}

pub fn each_candidate_is_asked_through_a_port_forward_to_coredns(c: &Cluster) {
    let ip = c.cluster_ip("default", "service-pay-v1");
    let pod = dns_pod(c);
    let names = ["service-pay-v1", "service-pay-v1.default"];

    let from_default = observe(c, None, &pod, "default", &names).unwrap();
    let short = from_default.observed("service-pay-v1").unwrap();
    assert_eq!(short.status, ObservedStatus::Resolved, "{short:?}");
    assert_eq!(short.addresses, std::slice::from_ref(&ip));
    assert_eq!(
        short.answered_by.as_deref(),
        Some("service-pay-v1.default.svc.cluster.local."),
        "the first candidate answers"
    );
    assert_eq!(short.candidates[0].rcode, ObservedRcode::Noerror);
    assert_eq!(
        short.resolver.nameservers,
        [format!("kube-system/{pod} (port-forward)")]
    );
    assert_eq!(short.resolver.search[0], "default.svc.cluster.local");
    assert!(
        short
            .notes
            .iter()
            .any(|n| n.contains("skips the kube-dns ClusterIP")),
        "{:?}",
        short.notes
    );
    assert!(from_default.wildcard_hits.is_empty());
    assert_eq!(
        from_default.asked.len(),
        4 + 3 + 3,
        "each absolute name asked once: the FQDN is a candidate of both names"
    );

    let from_client = observe(c, None, &pod, "client", &names).unwrap();
    let short = from_client.observed("service-pay-v1").unwrap();
    assert_eq!(short.status, ObservedStatus::Nxdomain, "{short:?}");
    assert_eq!(
        rcodes(&from_client, "service-pay-v1"),
        [ObservedRcode::Nxdomain; 4]
    );
    assert!(short.addresses.is_empty());
    // svc.ns: the first candidate is NXDOMAIN, the second (search entry
    // svc.cluster.local) answers.
    let dotted = from_client.observed("service-pay-v1.default").unwrap();
    assert_eq!(dotted.status, ObservedStatus::Resolved);
    assert_eq!(dotted.addresses, [ip]);
    assert_eq!(
        dotted.answered_by.as_deref(),
        Some("service-pay-v1.default.svc.cluster.local.")
    );
    assert_eq!(
        rcodes(&from_client, "service-pay-v1.default")[..2],
        [ObservedRcode::Nxdomain, ObservedRcode::Noerror]
    );
}

/// Deletes the module's namespace when dropped (also when a test panics).
struct Cleanup<'a>(&'a Cluster);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.kubectl(&[
            "delete",
            "namespace",
            NS,
            "--ignore-not-found",
            "--wait=false",
        ]);
    }
}

/// Polls `f` every half second until it returns Some, for at most `secs`.
fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

const UNREADY: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: unready
  namespace: e2e-local-probe
  labels:
    app: unready
    svcdiscover.test/stage: not-ready
spec:
  containers:
  - name: app
    image: registry.example/web:v1
    ports:
    - name: http
      containerPort: 8080
    readinessProbe:
      httpGet:
        path: /ready
        port: http
---
apiVersion: v1
kind: Service
metadata:
  name: unready-headless
  namespace: e2e-local-probe
spec:
  clusterIP: None
  selector:
    app: unready
  ports:
  - port: 80
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: unready-published
  namespace: e2e-local-probe
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    app: unready
  ports:
  - port: 80
    targetPort: http
"#;

pub fn a_headless_service_without_ready_endpoints_is_nxdomain(c: &Cluster) {
    // A namespace left by an interrupted run must be gone first.
    let r = c.kubectl(&[
        "delete",
        "namespace",
        NS,
        "--ignore-not-found",
        "--timeout=90s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = c.kubectl(&["create", "namespace", NS]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let _cleanup = Cleanup(c);
    // The ServiceAccount admission plugin rejects pods until `default` exists.
    wait_for(30, "ServiceAccount default", || {
        (c.kubectl(&["get", "serviceaccount", "default", "-n", NS])
            .code
            == 0)
            .then_some(())
    });
    let r = c.kubectl_stdin(&["apply", "-f", "-"], UNREADY);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The not-ready pod is in the plain Service's slice, with ready=false.
    let ip = wait_for(60, "the unready pod's endpoint", || {
        let r = c.kubectl(&[
            "get",
            "endpointslices",
            "-n",
            NS,
            "-l",
            "kubernetes.io/service-name=unready-headless",
            "-o",
            "jsonpath={range .items[*].endpoints[*]}{.addresses[0]} {.conditions.ready}{end}",
        ]);
        let out = r.stdout.trim().to_owned();
        out.split_once(' ').map(|(ip, ready)| {
            assert_eq!(ready, "false", "the pod is not ready: {out}");
            ip.to_owned()
        })
    });

    let pod = dns_pod(c);
    let names = [
        "unready-headless",
        "unready-published",
        "unready-headless.e2e-local-probe",
    ];
    // The same pod through publishNotReadyAddresses resolves: CoreDNS has
    // the namespace, both Services and the slices.
    let obs = wait_for(30, "CoreDNS to publish the not-ready pod", || {
        let obs = observe(c, None, &pod, NS, &names).unwrap();
        (obs.observed("unready-published").unwrap().status == ObservedStatus::Resolved)
            .then_some(obs)
    });
    assert_eq!(obs.observed("unready-published").unwrap().addresses, [ip]);
    for typed in ["unready-headless", "unready-headless.e2e-local-probe"] {
        let o = obs.observed(typed).unwrap();
        assert_eq!(o.status, ObservedStatus::Nxdomain, "{typed}: {o:?}");
        assert!(o.addresses.is_empty());
        let codes = rcodes(&obs, typed);
        assert!(
            codes.iter().all(|r| *r == ObservedRcode::Nxdomain),
            "{typed}: {codes:?}"
        );
    }
}

pub fn a_user_without_pods_portforward_is_told_the_verb(c: &Cluster) {
    let pod = dns_pod(c);
    let err = observe(c, Some("e2e-viewer"), &pod, "default", &["service-pay-v1"]).unwrap_err();
    // The WebSocket upgrade is authorized as `get` first: that is the verb refused.
    assert!(matches!(err, LocalError::Forbidden { .. }), "{err:?}");
    assert_eq!(err.refused_verb(), Some("get"));
    let text = err.to_string();
    assert!(
        text.contains("get pods/portforward was refused")
            && text.contains("`get` and `create` on pods/portforward in namespace kube-system"),
        "{text}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "keeps the API error"
    );

    let err = observe(c, None, "no-such-coredns", "default", &["service-pay-v1"]).unwrap_err();
    assert!(matches!(err, LocalError::PodNotFound { .. }), "{err:?}");
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "each_candidate_is_asked_through_a_port_forward_to_coredns",
        each_candidate_is_asked_through_a_port_forward_to_coredns,
    ),
    (
        "a_headless_service_without_ready_endpoints_is_nxdomain",
        a_headless_service_without_ready_endpoints_is_nxdomain,
    ),
    (
        "a_user_without_pods_portforward_is_told_the_verb",
        a_user_without_pods_portforward_is_told_the_verb,
    ),
];
