//! A live scan of a namespace of 200 Services (`--all -n NS`): every
//! Service reported, the broken ones with the findings their breakage
//! calls for, the healthy ones reachable, and the scan's API requests as
//! many as for a namespace of 20 Services (counted from the audit log).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::*;

/// How a Service of the test namespaces is broken, by its index: every
/// tenth Service, cycling through these.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Broken {
    /// The selector says app=<name>-v2; the pod carries app=<name>.
    SelectorTypo,
    /// The image is under registry.invalid/ (kwok: ErrImagePull, then ImagePullBackOff).
    ImagePull,
    /// kwok stage crash-loop.
    CrashLoop,
    /// kwok stage not-ready (running, readiness probe failing).
    NotReady,
    /// A nodeSelector no node matches.
    Unschedulable,
    /// targetPort 9090; the container declares 8080.
    TargetPort,
    /// No selector and no EndpointSlice.
    Selectorless,
}

const KINDS: [Broken; 7] = [
    Broken::SelectorTypo,
    Broken::ImagePull,
    Broken::CrashLoop,
    Broken::NotReady,
    Broken::Unschedulable,
    Broken::TargetPort,
    Broken::Selectorless,
];

impl Broken {
    fn of(i: usize) -> Option<Broken> {
        i.is_multiple_of(10).then(|| KINDS[(i / 10) % KINDS.len()])
    }

    /// The finding the diagnosis must make.
    fn code(self) -> &'static str {
        match self {
            Broken::SelectorTypo => "selector-matches-no-pods",
            Broken::ImagePull => "image-pull-failure",
            Broken::CrashLoop => "crash-loop",
            Broken::NotReady => "pods-not-ready",
            Broken::Unschedulable => "pod-unschedulable",
            Broken::TargetPort => "target-port-mismatch",
            Broken::Selectorless => "no-ready-endpoints",
        }
    }

    /// Whether the Service's slices list a ready endpoint once settled.
    fn serves(kind: Option<Broken>) -> bool {
        matches!(kind, None | Some(Broken::TargetPort))
    }
}

/// Service names differ between the two namespaces (`s200-…`, `s20-…`):
/// a name both had would add a `name-shadowed` info to each.
fn name(n: usize, i: usize) -> String {
    format!("s{n}-{i:03}")
}

/// A namespace of `n` Services, each with one pod (bare pods: no
/// controller in the way, so the namespace settles quickly).
fn manifest(ns: &str, n: usize) -> String {
    let mut items = Vec::new();
    for i in 0..n {
        let name = name(n, i);
        let kind = Broken::of(i);
        let mut labels = serde_json::json!({ "app": name });
        match kind {
            Some(Broken::CrashLoop) => labels["svcdiscover.test/stage"] = "crash-loop".into(),
            Some(Broken::NotReady) => labels["svcdiscover.test/stage"] = "not-ready".into(),
            _ => {}
        }
        let image = if kind == Some(Broken::ImagePull) {
            format!("registry.invalid/{name}:v1")
        } else {
            format!("registry.example/{name}:v1")
        };
        let mut container = serde_json::json!({
            "name": "app",
            "image": image,
            "ports": [{ "name": "http", "containerPort": 8080 }],
        });
        if kind == Some(Broken::NotReady) {
            container["readinessProbe"] =
                serde_json::json!({ "httpGet": { "path": "/ready", "port": "http" } });
        }
        let mut pod_spec = serde_json::json!({
            "containers": [container],
            "terminationGracePeriodSeconds": 0,
        });
        if kind == Some(Broken::Unschedulable) {
            pod_spec["nodeSelector"] = serde_json::json!({ "disktype": "does-not-exist" });
        }
        items.push(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": format!("{name}-pod"), "namespace": ns, "labels": labels },
            "spec": pod_spec,
        }));
        let mut port = serde_json::json!({ "name": "http", "port": 80, "targetPort": "http" });
        let selector = match kind {
            Some(Broken::SelectorTypo) => Some(serde_json::json!({ "app": format!("{name}-v2") })),
            Some(Broken::Selectorless) => None,
            _ => Some(serde_json::json!({ "app": name })),
        };
        if kind == Some(Broken::TargetPort) {
            port["targetPort"] = 9090.into();
        }
        if kind == Some(Broken::Selectorless) {
            port["targetPort"] = 8080.into();
        }
        let mut spec = serde_json::json!({ "ports": [port] });
        if let Some(s) = selector {
            spec["selector"] = s;
        }
        items.push(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": name, "namespace": ns },
            "spec": spec,
        }));
    }
    serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": items }).to_string()
}

/// The namespaces and the binding this test made, removed however it ends.
struct Cleanup<'a> {
    c: &'a Cluster,
    namespaces: Vec<String>,
    binding: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = self.c.kubectl(&["delete", "namespace", ns, "--wait=false"]);
        }
        let _ = self.c.kubectl(&[
            "delete",
            "clusterrolebinding",
            &self.binding,
            "--ignore-not-found",
        ]);
    }
}

fn get_json(c: &Cluster, args: &[&str]) -> Value {
    let mut a = vec!["get"];
    a.extend(args);
    a.extend(["-o", "json"]);
    let r = c.kubectl(&a);
    assert_eq!(r.code, 0, "{a:?}: {}", r.stderr);
    r.json()
}

/// What is not settled yet in `ns` (empty once every Service's slices and
/// every broken pod look as their kind makes them).
fn unsettled(c: &Cluster, ns: &str, n: usize) -> Vec<String> {
    let slices = get_json(c, &["endpointslices", "-n", ns]);
    let mut ready: BTreeMap<String, usize> = BTreeMap::new();
    for s in slices["items"].as_array().unwrap() {
        let svc = s["metadata"]["labels"]["kubernetes.io/service-name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let r = s["endpoints"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter(|e| e["conditions"]["ready"] == true)
                    .count()
            })
            .unwrap_or(0);
        *ready.entry(svc).or_default() += r;
    }
    let pods = get_json(c, &["pods", "-n", ns]);
    let pod = |name: &str| {
        pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["metadata"]["name"] == format!("{name}-pod"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let waiting = |p: &Value| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let mut left = Vec::new();
    for i in 0..n {
        let name = name(n, i);
        let kind = Broken::of(i);
        if Broken::serves(kind) && ready.get(&name).copied().unwrap_or(0) != 1 {
            left.push(format!("{name}: no ready endpoint yet"));
        }
        let p = pod(&name);
        let ok = match kind {
            Some(Broken::ImagePull) => waiting(&p) == "ImagePullBackOff",
            Some(Broken::CrashLoop) => waiting(&p) == "CrashLoopBackOff",
            Some(Broken::NotReady) => p["status"]["containerStatuses"].is_array(),
            Some(Broken::Unschedulable) => p["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "PodScheduled" && c["reason"] == "Unschedulable")
            }),
            _ => true,
        };
        if !ok {
            left.push(format!("{name}: pod not in its {kind:?} state yet"));
        }
    }
    left
}

/// The requests `user` made, once the audit log has them all: the lines
/// stop growing for a moment after the command returned.
fn requests_of(c: &Cluster, user: &str) -> Vec<String> {
    let mut last = None;
    for _ in 0..20 {
        let log = std::fs::read_to_string(&c.audit_log).unwrap();
        let uris: Vec<String> = log
            .lines()
            .filter(|l| l.contains(user))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| {
                e["impersonatedUser"]["username"] == user && e["stage"] == "ResponseComplete"
            })
            .map(|e| e["requestURI"].as_str().unwrap_or_default().to_owned())
            .collect();
        if last.as_ref() == Some(&uris) && !uris.is_empty() {
            return uris;
        }
        last = Some(uris);
        std::thread::sleep(Duration::from_millis(250));
    }
    last.unwrap_or_default()
}

pub fn a_scan_of_200_services_reports_each_and_makes_as_many_requests_as_one_of_20(c: &Cluster) {
    let pid = std::process::id();
    let sizes = [200usize, 20];
    let namespaces: Vec<String> = sizes
        .iter()
        .map(|n| format!("bench-scan-{n}-{pid}"))
        .collect();
    let group = format!("bench-scan-{pid}");
    let _cleanup = Cleanup {
        c,
        namespaces: namespaces.clone(),
        binding: group.clone(),
    };

    // Namespaces first: pods are refused until their `default`
    // ServiceAccount exists. Then every Service and pod in one apply.
    let ns_list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": namespaces.iter().map(|ns| serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns },
        })).collect::<Vec<_>>(),
    });
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &ns_list.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let deadline = Instant::now() + Duration::from_secs(60);
    for ns in &namespaces {
        while c
            .kubectl(&["-n", ns, "get", "serviceaccount", "default"])
            .code
            != 0
        {
            assert!(
                Instant::now() < deadline,
                "no default ServiceAccount in {ns}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let all: Vec<Value> = namespaces
        .iter()
        .zip(sizes)
        .flat_map(|(ns, n)| {
            serde_json::from_str::<Value>(&manifest(ns, n)).unwrap()["items"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": all });
    let r = c.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=e2e-scale",
            "-f",
            "-",
        ],
        &list.to_string(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A group of our own bound to the read-only e2e-viewer role: the
    // audit log tells each scan's requests apart by the impersonated user.
    let binding = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {group}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: e2e-viewer\nsubjects:\n- kind: Group\n  name: {group}\n  apiGroup: rbac.authorization.k8s.io\n"
    );
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &binding);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Wait for the EndpointSlices and the broken pods to settle.
    let deadline = Instant::now() + Duration::from_secs(300);
    for (ns, n) in namespaces.iter().zip(sizes) {
        loop {
            let left = unsettled(c, ns, n);
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{ns} did not settle: {} left, e.g. {:?}",
                left.len(),
                &left[..left.len().min(5)]
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let waiter = format!("{group}-waiter");
    let bound = (0..40).any(|_| {
        let ok = c
            .kubectl(&[
                "auth",
                "can-i",
                "list",
                "pods",
                "-n",
                &namespaces[0],
                "--as",
                &waiter,
                "--as-group",
                &group,
            ])
            .stdout
            .trim()
            == "yes";
        if !ok {
            std::thread::sleep(Duration::from_millis(250));
        }
        ok
    });
    assert!(bound, "the binding never took effect");

    let mut counts = Vec::new();
    for (ns, n) in namespaces.iter().zip(sizes) {
        let user = format!("{group}-scan-{n}");
        let scan = c.diagnose(&["--all", "-n", ns, "--as", &user, "--as-group", &group], 1);
        assert_eq!(scan["kind"], "Scan");
        assert_eq!(scan["summary"]["services"], n, "{ns}: summary");
        let reports = scan["reports"].as_array().unwrap();
        let reported: Vec<String> = reports
            .iter()
            .map(|r| {
                assert_eq!(r["service"]["namespace"], ns.as_str());
                r["service"]["name"].as_str().unwrap().to_owned()
            })
            .collect();
        let unique: BTreeSet<&String> = reported.iter().collect();
        let expected: BTreeSet<String> = (0..n).map(|i| name(n, i)).collect();
        assert_eq!(reported.len(), n, "{ns}: one report per Service");
        assert_eq!(
            unique.into_iter().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{ns}: every Service"
        );
        for r in reports {
            let svc = r["service"]["name"].as_str().unwrap();
            let i: usize = svc.rsplit('-').next().unwrap().parse().unwrap();
            match Broken::of(i) {
                None => assert_eq!(
                    r["verdict"],
                    "reachable",
                    "{ns}/{svc}: {} {:?}",
                    r["verdict_reason"],
                    codes(r)
                ),
                Some(kind) => {
                    assert_eq!(r["verdict"], "unreachable", "{ns}/{svc} ({kind:?})");
                    let found = with_code(r, kind.code());
                    assert!(
                        !found.is_empty(),
                        "{ns}/{svc} ({kind:?}): wanted {}, got {:?}",
                        kind.code(),
                        codes(r)
                    );
                    assert!(
                        found.iter().all(|f| f["severity"] == "error"),
                        "{ns}/{svc}: {found:?}"
                    );
                }
            }
        }
        let reqs = requests_of(c, &user);
        assert!(!reqs.is_empty(), "no request of {user} in the audit log");
        // Nothing is read per Service: no request names one of them.
        assert!(
            reqs.iter()
                .all(|u| !u.contains(&format!("/services/s{n}-"))),
            "{reqs:#?}"
        );
        counts.push((n, reqs));
    }
    let (big, small) = (&counts[0], &counts[1]);
    assert_eq!(
        big.1.len(),
        small.1.len(),
        "requests of a scan of {} Services ({:#?}) and of {} ({:#?})",
        big.0,
        big.1,
        small.0,
        small.1
    );
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[(
    "a_scan_of_200_services_reports_each_and_makes_as_many_requests_as_one_of_20",
    a_scan_of_200_services_reports_each_and_makes_as_many_requests_as_one_of_20,
)];
