//! The diagnosis against the live cluster: the scenario's Services.

use std::path::Path;

use serde_json::Value;

use crate::cluster::*;

pub fn healthy_pay_v1(c: &Cluster) {
    let r = c.diagnose(&["service-pay-v1", "-n", "default"], 0);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error"),
        "{:?}",
        codes(&r)
    );
    assert_eq!(r["service"]["type"], "NodePort");
    assert_eq!(
        r["endpoints"]["ready"], 2,
        "the EndpointSlice controller filled the slice"
    );
    assert_eq!(r["dns"]["service_found"], true);
    assert_eq!(r["dns"]["cluster_ip"], "10.96.0.10");
    assert_eq!(r["dns"]["cluster_domain_source"], "corefile");
    assert!(r["dns"]["ready_endpoints"].as_u64().unwrap() >= 1);
    assert!(
        r["not_checked"].as_array().unwrap().is_empty(),
        "{}",
        r["not_checked"]
    );
    // The namespace comes from the kubeconfig context when -n is absent.
    let again = c.diagnose(&["service-pay-v1"], 0);
    assert_eq!(again["service"]["namespace"], "default");
}

pub fn endpoint_slices_are_made_by_the_real_controller(c: &Cluster) {
    let r = c.kubectl(&[
        "get",
        "endpointslices",
        "-n",
        "default",
        "-l",
        "kubernetes.io/service-name=service-pay-v1",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let slice = &v["items"][0];
    assert_eq!(
        slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(slice["endpoints"].as_array().unwrap().len(), 2);
}

pub fn selector_typo(c: &Cluster) {
    let r = c.diagnose(&["service-pay-typo"], 1);
    let f = with_code(&r, "selector-matches-no-pods");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("Deployment pay-v1 has app=pay-v1"),
        "{}",
        f[0]["message"]
    );
}

pub fn image_pull_backoff(c: &Cluster) {
    let r = c.diagnose(&["service-v4"], 1);
    let f = with_code(&r, "image-pull-failure");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "error");
    assert!(
        f[0]["message"].as_str().unwrap().contains("does not exist"),
        "{}",
        f[0]["message"]
    );
    assert_eq!(with_code(&r, "no-ready-endpoints").len(), 1);
}

pub fn service_that_does_not_exist(c: &Cluster) {
    let r = c.diagnose(&["service-pay-v2"], 1);
    let f = with_code(&r, "service-not-found");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["message"].as_str().unwrap().contains("service-pay-v1"),
        "close name: {}",
        f[0]["message"]
    );
    assert_eq!(r["service"]["found"], false);
}

pub fn trouble_namespace_causes(c: &Cluster) {
    let r = c.diagnose(&["web-unready", "-n", "trouble"], 1);
    assert!(
        with_code(&r, "pods-not-ready")[0]["message"]
            .as_str()
            .unwrap()
            .contains("Readiness probe failed")
    );
    let r = c.diagnose(&["crashy", "-n", "trouble"], 1);
    assert!(
        with_code(&r, "crash-loop")[0]["message"]
            .as_str()
            .unwrap()
            .contains("exit code 1")
    );
    let r = c.diagnose(&["unplaceable", "-n", "trouble"], 1);
    assert!(
        with_code(&r, "pod-unschedulable")[0]["message"]
            .as_str()
            .unwrap()
            .contains("didn't match"),
        "{:?}",
        codes(&r)
    );
}

pub fn bundled_example_matches_the_cluster(c: &Cluster) {
    // The README's example snapshot was captured from this scenario; the
    // diagnosis of the live cluster and of the file must agree.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenario.json");
    for (svc, code) in [
        ("service-pay-v1", 0),
        ("service-v4", 1),
        ("service-pay-typo", 1),
    ] {
        let live = c.diagnose(&[svc], code);
        let file = c.svcdiscover(&[svc, "--snapshot", fixture.to_str().unwrap(), "-o", "json"]);
        assert_eq!(file.code, code, "{svc}");
        let file = file.json();
        let mut a = codes(&live);
        let mut b = codes(&file);
        a.sort();
        b.sort();
        assert_eq!(
            a, b,
            "{svc}: finding codes differ; re-run tests/cluster/capture-example"
        );
        let outcome = |r: &Value| -> Vec<(Value, Value, Value)> {
            r["name_forms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["name"].clone(),
                        f["from_namespace"].clone(),
                        f["expected_resolves"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(outcome(&live), outcome(&file), "{svc}: name forms differ");
    }
}

pub fn api_requests_of_one_diagnosis_are_counted_from_the_audit_log(c: &Cluster) {
    // Grant read access to a group of our own; wait with one identity, then
    // count the requests of exactly one run made as another.
    let group = format!("e2e-audit-{}", std::process::id());
    let waiter = format!("{group}-waiter");
    let counted = format!("{group}-counted");
    let binding = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {group}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: e2e-viewer\nsubjects:\n- kind: Group\n  name: {group}\n  apiGroup: rbac.authorization.k8s.io\n"
    );
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &binding);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ready = (0..40).any(|_| {
        let ok = c
            .kubectl(&[
                "auth",
                "can-i",
                "list",
                "pods",
                "-n",
                "default",
                "--as",
                &waiter,
                "--as-group",
                &group,
            ])
            .stdout
            .trim()
            == "yes";
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        ok
    });
    assert!(ready, "the binding never took effect");

    // Without the probe (on by default): probe.rs counts a probed run.
    let run = c.svcdiscover(&[
        "service-pay-v1",
        "--no-probe",
        "--as",
        &counted,
        "--as-group",
        &group,
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The audit backend writes asynchronously (batching is off, but be patient).
    let mut events: Vec<Value> = Vec::new();
    for _ in 0..20 {
        let log = std::fs::read_to_string(&c.audit_log).unwrap();
        events = log
            .lines()
            .filter(|l| l.contains(counted.as_str()))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| {
                e["impersonatedUser"]["username"] == counted.as_str()
                    && e["stage"] == "ResponseComplete"
            })
            .collect();
        if events.len() >= 18 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let uris: Vec<&str> = events
        .iter()
        .map(|e| e["requestURI"].as_str().unwrap())
        .collect();
    // The Service, its selected pods, then all pods of its namespace (for
    // pods the selector leaves out), beside 15 independent reads (two of
    // them the NetworkPolicies of the Service's namespace and kube-system).
    assert_eq!(events.len(), 18, "API requests of one diagnosis: {uris:#?}");
    assert_eq!(
        uris.iter()
            .filter(|u| u.contains("/networkpolicies"))
            .count(),
        2,
        "one list per namespace, none cluster-wide: {uris:#?}"
    );
    // No list that grows with the cluster: the Services of every namespace
    // only by name (`fieldSelector=metadata.name=…`).
    let everywhere: Vec<&&str> = uris
        .iter()
        .filter(|u| u.starts_with("/api/v1/services"))
        .collect();
    assert_eq!(everywhere.len(), 3, "{uris:#?}");
    assert!(
        everywhere
            .iter()
            .all(|u| u.contains("fieldSelector=metadata.name%3D")),
        "{uris:#?}"
    );
    assert!(
        uris.iter().all(|u| !u.starts_with("/api/v1/pods")),
        "no cluster-wide pod list: {uris:#?}"
    );
    assert_eq!(
        uris.iter().filter(|u| u.contains("/pods")).count(),
        3,
        "DNS pods + selected pods + the namespace's pods: {uris:#?}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["verb"] == "get" || e["verb"] == "list"),
        "read-only"
    );
    let _ = c.kubectl(&["delete", "clusterrolebinding", &group]);
}

pub fn a_service_in_another_namespace_than_its_pods_is_told_where_they_are(c: &Cluster) {
    // Namespace `client` has no pay-v1 pods; the live source lists the pods
    // with the selector in all namespaces and finds them in `default`.
    let name = format!("e2e-wrong-ns-{}", std::process::id());
    let svc = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: client\nspec:\n  selector:\n    app: pay-v1\n  ports:\n  - port: 80\n    targetPort: http\n"
    );
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &svc);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = c.diagnose(&[&name, "-n", "client"], 1);
    let _ = c.kubectl(&["delete", "service", &name, "-n", "client"]);
    let f = with_code(&report, "selector-matches-no-pods");
    assert_eq!(f.len(), 1, "{:?}", codes(&report));
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("pods with all of these labels run in namespace default (pay-v1-"),
        "{msg}"
    );
    assert!(
        !not_checked(&report, "selected pods in other namespaces"),
        "{}",
        report["not_checked"]
    );
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    ("healthy_pay_v1", healthy_pay_v1),
    (
        "endpoint_slices_are_made_by_the_real_controller",
        endpoint_slices_are_made_by_the_real_controller,
    ),
    ("selector_typo", selector_typo),
    ("image_pull_backoff", image_pull_backoff),
    ("service_that_does_not_exist", service_that_does_not_exist),
    ("trouble_namespace_causes", trouble_namespace_causes),
    (
        "bundled_example_matches_the_cluster",
        bundled_example_matches_the_cluster,
    ),
    (
        "api_requests_of_one_diagnosis_are_counted_from_the_audit_log",
        api_requests_of_one_diagnosis_are_counted_from_the_audit_log,
    ),
    (
        "a_service_in_another_namespace_than_its_pods_is_told_where_they_are",
        a_service_in_another_namespace_than_its_pods_is_told_where_they_are,
    ),
];
