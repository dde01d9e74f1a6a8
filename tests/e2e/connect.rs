//! `--connect` against the real cluster: TCP from the probe pod (or the
//! `--from` pod) to the ClusterIP and to each ready endpoint, and the two
//! splits it names. There is no kube-proxy: no ClusterIP but kube-dns's
//! routes, so every ClusterIP times out. Of service-pay-v1's two pods,
//! one listens on :80 (SVCDISCOVER_E2E_PAY_POD_IP); the other's address is
//! on no interface, so it times out too. The refusals come from pods of
//! this module's own namespace: hostNetwork pods get the node's address
//! (10.250.0.2, where kwok listens on 10250 and nothing on 80; a
//! hostNetwork pod's container ports are host ports, so none may be one a
//! CoreDNS pod declares).

use serde_json::Value;

use crate::cluster::*;

/// This module's own namespace, deleted afterwards.
const NS: &str = "e2e-connect";

pub const TESTS: &[Test] = &[
    ("pay_v1_split_and_timeouts", pay_v1_split_and_timeouts),
    ("from_pod_connects_from_its_own_namespace", from_pod),
    ("refusals_and_the_proxy_split", refusals_and_the_proxy_split),
    ("connect_needs_a_pod_probe", connect_needs_a_pod_probe),
];

fn connections(r: &Value) -> Vec<(String, String, String, String)> {
    r["connections"]
        .as_array()
        .unwrap_or_else(|| panic!("no connections: {}", r["connections"]))
        .iter()
        .map(|c| {
            (
                c["target"].as_str().unwrap().to_owned(),
                format!("{}:{}", c["address"].as_str().unwrap(), c["port"]),
                c["pod"].as_str().unwrap_or("-").to_owned(),
                c["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pod_ip(c: &Cluster, ns: &str, pod: &str) -> String {
    let r = c.kubectl(&[
        "get",
        "pod",
        pod,
        "-n",
        ns,
        "-o",
        "jsonpath={.status.podIP}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_owned()
}

/// The probe Job of a report is gone (its pod is `<job>-<suffix>`).
fn job_is_gone(c: &Cluster, r: &Value) {
    let client = &r["probe"]["clients"][0];
    let ns = client["namespace"].as_str().unwrap();
    let pod = client["pod"].as_str().expect("the probe pod ran");
    let job = pod.rsplit_once('-').unwrap().0;
    assert!(job.starts_with("svcdiscover-probe-"), "{job}");
    assert_eq!(r["probe"]["cleanup"], "deleted");
    let got = c.kubectl(&[
        "get",
        "job",
        job,
        "-n",
        ns,
        "--ignore-not-found",
        "-o",
        "name",
    ]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.stdout.trim(), "", "probe Job {ns}/{job} left behind");
}

fn findings_of(r: &Value) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    f.sort();
    f
}

/// The listening pod connects, the other and the ClusterIP time out:
/// the ClusterIP split, a warning since an endpoint timed out as well.
/// Nothing refuses, so no `endpoint-refused`.
fn pay_v1_split_and_timeouts(c: &Cluster) {
    let listening = std::env::var("SVCDISCOVER_E2E_PAY_POD_IP").unwrap();
    let cluster_ip = c.cluster_ip("default", "service-pay-v1");
    let pods = c.kubectl(&[
        "get",
        "pods",
        "-n",
        "default",
        "-l",
        "app=pay-v1",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{\"\\n\"}{end}",
    ]);
    let pods: Vec<(String, String)> = pods
        .stdout
        .lines()
        .map(|l| {
            let (n, ip) = l.split_once(' ').unwrap();
            (n.to_owned(), ip.to_owned())
        })
        .collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
    let (up, down) = if pods[0].1 == listening {
        (&pods[0], &pods[1])
    } else {
        (&pods[1], &pods[0])
    };
    assert_eq!(up.1, listening);

    let r = c.diagnose(&["service-pay-v1", "-n", "default", "--connect"], 0);
    let mut got = connections(&r);
    got[1..].sort_by(|a, b| a.2.cmp(&b.2));
    let mut want = vec![
        (
            "service".to_owned(),
            format!("{cluster_ip}:80"),
            "-".to_owned(),
            "timeout".to_owned(),
        ),
        (
            "endpoint".into(),
            format!("{}:80", up.1),
            up.0.clone(),
            "connected".into(),
        ),
        (
            "endpoint".into(),
            format!("{}:80", down.1),
            down.0.clone(),
            "timeout".into(),
        ),
    ];
    want[1..].sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(got, want);
    for conn in r["connections"].as_array().unwrap() {
        assert_eq!(conn["from"], "default");
        assert_eq!(conn["service_port"], 80);
    }
    assert_eq!(
        findings_of(&r),
        [("service-proxy-not-routing".to_owned(), "warning".to_owned())],
        "{:#}",
        r["findings"]
    );
    let f = &with_code(&r, "service-proxy-not-routing")[0];
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "from namespace default, the ClusterIP {cluster_ip}:80 timed out (no answer within 2 s (bash /dev/tcp)) while 1 of 2 ready endpoint(s) connect directly ({}:80 ({}))",
            up.1, up.0
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("but {}:80 ({}) timed out too", down.1, down.0)),
        "{msg}"
    );
    assert_eq!(r["verdict"], "degraded");
    job_is_gone(c, &r);

    // The table shows them, in 80 columns.
    let t = c.svcdiscover(&["service-pay-v1", "-n", "default", "--connect", "--no-probe"]);
    assert_eq!(t.code, 2, "--no-probe conflicts: {}", t.stderr);
    let t = c.svcdiscover(&["service-pay-v1", "-n", "default", "--connect"]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(
        t.stdout
            .contains("Connections  TCP from namespace default: 1 connected, 2 timed out"),
        "{}",
        t.stdout
    );
    assert!(t.stdout.contains(&format!("{}:80", up.1)));
}

/// `--from client/client`: the connections are opened from that pod.
fn from_pod(c: &Cluster) {
    let r = c.diagnose(
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--from",
            "client/client",
            "--connect",
        ],
        0,
    );
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 3);
    assert!(conns.iter().all(|c| c["from"] == "client/client"));
    let results: Vec<&str> = conns
        .iter()
        .map(|c| c["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|r| **r == "connected").count(),
        1,
        "{results:?}"
    );
    assert_eq!(r["probe"]["mode"], "from");
    let f = with_code(&r, "service-proxy-not-routing");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("from pod client/client, ")
    );
}

const OBJECTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: e2e-connect
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: exec-e2e-connect
spec:
  selector:
    matchNamespaces: [e2e-connect]
  execs:
  - local:
      workDir: /tmp
      envs:
      - {name: LOCALDOMAIN, value: "e2e-connect.svc.cluster.local svc.cluster.local cluster.local"}
      - {name: RES_OPTIONS, value: "ndots:5"}
---
apiVersion: v1
kind: Pod
metadata:
  name: listening
  namespace: e2e-connect
  labels: {app: connect}
spec:
  hostNetwork: true
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
    ports: [{name: web, containerPort: 10250}]
---
apiVersion: v1
kind: Pod
metadata:
  name: wrong-port
  namespace: e2e-connect
  labels: {app: connect, role: wrong}
spec:
  hostNetwork: true
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
    ports: [{name: web, containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: split
  namespace: e2e-connect
spec:
  selector: {app: connect}
  ports: [{name: http, port: 80, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata:
  name: all-refuse
  namespace: e2e-connect
spec:
  selector: {role: wrong}
  ports: [{name: http, port: 80, targetPort: web}]
"#;

/// Wait until both Services list their ready endpoints.
fn wait_for_endpoints(c: &Cluster) {
    for _ in 0..60 {
        let r = c.kubectl(&[
            "get", "endpointslices", "-n", NS, "-o",
            "jsonpath={range .items[*]}{.metadata.labels.kubernetes\\.io/service-name} {.endpoints[*].conditions.ready}{\"\\n\"}{end}",
        ]);
        let ready = |svc: &str| {
            r.stdout
                .lines()
                .filter(|l| l.starts_with(&format!("{svc} ")))
                .map(|l| l.matches("true").count())
                .sum::<usize>()
        };
        if ready("split") == 2 && ready("all-refuse") == 1 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("the endpoints of {NS} did not become ready");
}

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
        let _ = self.0.kubectl(&[
            "delete",
            "clusterexec",
            "exec-e2e-connect",
            "--ignore-not-found",
        ]);
    }
}

/// `split`: a named targetPort that is 10250 on one pod (kwok answers on
/// the node's address) and 80 on the other (nothing listens): one connects,
/// one refuses, the ClusterIP times out while no endpoint does, so the
/// split is an error and the refusal a warning. `all-refuse`: its only
/// endpoint refuses: an error, and no proxy split (nothing connects).
fn refusals_and_the_proxy_split(c: &Cluster) {
    // A namespace of an earlier run may still be terminating.
    let _ = c.kubectl(&[
        "wait",
        "--for=delete",
        &format!("namespace/{NS}"),
        "--timeout=60s",
    ]);
    let _cleanup = Cleanup(c);
    let applied = c.kubectl_stdin(&["apply", "-f", "-"], OBJECTS);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    wait_for_endpoints(c);
    let node_ip = pod_ip(c, NS, "listening");
    assert_eq!(
        node_ip,
        pod_ip(c, NS, "wrong-port"),
        "both on the node's address"
    );

    let r = c.diagnose(&["split", "-n", NS, "--connect"], 1);
    let mut got = connections(&r);
    got.sort();
    let cluster_ip = c.cluster_ip(NS, "split");
    assert_eq!(
        got,
        [
            (
                "endpoint".to_owned(),
                format!("{node_ip}:10250"),
                "listening".to_owned(),
                "connected".to_owned()
            ),
            (
                "endpoint".into(),
                format!("{node_ip}:80"),
                "wrong-port".into(),
                "refused".into()
            ),
            (
                "service".into(),
                format!("{cluster_ip}:80"),
                "-".into(),
                "timeout".into()
            ),
        ]
    );
    assert_eq!(
        findings_of(&r),
        [
            ("endpoint-refused".to_owned(), "warning".to_owned()),
            ("service-proxy-not-routing".into(), "error".into()),
        ],
        "{:#}",
        r["findings"]
    );
    let refused = &with_code(&r, "endpoint-refused")[0];
    assert_eq!(
        refused["message"],
        format!(
            "from namespace {NS}, 1 endpoint(s) of Service port 80 refuse TCP on their target port 80: {node_ip}:80 (wrong-port): nothing listens there (a wrong targetPort, or the application listens on another port or only on localhost); other endpoints connect, so some requests fail and others succeed"
        )
    );
    assert!(
        refused["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("`kubectl -n {NS} exec wrong-port -- ss -ltn`")),
        "{}",
        refused["fix"]
    );
    let proxy = &with_code(&r, "service-proxy-not-routing")[0];
    assert!(
        proxy["message"]
            .as_str()
            .unwrap()
            .ends_with("so clients that call it by name fail although its pods answer"),
        "{}",
        proxy["message"]
    );
    assert_eq!(r["verdict"], "unreachable");
    job_is_gone(c, &r);

    let r = c.diagnose(&["all-refuse", "-n", NS, "--connect"], 1);
    assert_eq!(
        findings_of(&r),
        [("endpoint-refused".to_owned(), "error".to_owned())],
        "{:#}",
        r["findings"]
    );
    assert!(
        with_code(&r, "endpoint-refused")[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("; no endpoint connects")
    );
    job_is_gone(c, &r);
}

/// `--probe local` and `--probe none` cannot open connections: usage
/// errors, before anything is read.
fn connect_needs_a_pod_probe(c: &Cluster) {
    for mode in ["local", "none"] {
        let r = c.svcdiscover(&[
            "service-pay-v1",
            "-n",
            "default",
            "--probe",
            mode,
            "--connect",
        ]);
        assert_eq!(r.code, 2, "{mode}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("--connect needs a probe that runs in a pod"),
            "{}",
            r.stderr
        );
    }
}
