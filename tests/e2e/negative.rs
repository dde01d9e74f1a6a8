//! Permissions and failures: required reads (exit 3), optional reads
//! (not_checked), and negative controls that prove RBAC and Pod Security
//! are really enforced by this cluster.

use crate::cluster::*;

pub fn forbidden_required_read_exits_3_naming_verb_and_resource(c: &Cluster) {
    let r = c.svcdiscover(&["service-pay-v1", "--as", "e2e-no-pods", "-o", "json"]);
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("cannot list pods in namespace default"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("forbidden"), "{}", r.stderr);
    // The (partial) report is still on stdout.
    let report = r.json();
    assert_eq!(report["service"]["found"], true);
    assert!(not_checked(&report, "selector"));
}

pub fn forbidden_optional_read_is_listed_under_not_checked(c: &Cluster) {
    let r = c.diagnose(&["service-v4", "--as", "e2e-no-events"], 1);
    let nc = r["not_checked"].as_array().unwrap();
    // Named once, by the check that needed the events.
    let events: Vec<&serde_json::Value> = nc
        .iter()
        .filter(|n| n["needs"] == "RBAC: list events in namespace default")
        .collect();
    assert_eq!(events.len(), 1, "{nc:#?}");
    assert_eq!(
        events[0]["check"],
        "pod events (pull errors, probe failures)"
    );
    // Without events the pull failure is still found, its cause unknown.
    assert_eq!(with_code(&r, "image-pull-failure").len(), 1);
}

pub fn unreachable_api_server_exits_3(c: &Cluster) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&c.kubeconfig).unwrap();
    let mut kc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    kc["clusters"][0]["cluster"]["server"] = serde_json::json!("https://127.0.0.1:1");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&kc).unwrap()).unwrap();
    let r = c.svcdiscover(&[
        "service-pay-v1",
        "--kubeconfig",
        path.to_str().unwrap(),
        "--request-timeout",
        "5s",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot reach the API server"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one line per cause: {}",
        r.stderr
    );
}

pub fn exec_without_permission_is_a_real_403(c: &Cluster) {
    let r = c.kubectl(&[
        "exec",
        "-n",
        "client",
        "client",
        "--as",
        "e2e-viewer",
        "--",
        "true",
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("Forbidden") || r.stderr.contains("forbidden"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("pods/exec"), "{}", r.stderr);
}

pub fn pod_security_rejects_a_privileged_pod_in_a_restricted_namespace(c: &Cluster) {
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"privileged","namespace":"restricted"},
      "spec":{"containers":[{"name":"c","image":"registry.example/x:1","securityContext":{"privileged":true}}]}}"#;
    let r = c.kubectl_stdin(&["create", "--dry-run=server", "-f", "-"], pod);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("violates PodSecurity \"restricted"),
        "{}",
        r.stderr
    );
}

pub fn exec_credential_plugins_authenticate(c: &Cluster) {
    // A kubeconfig whose user is an exec plugin (as cloud auth plugins are),
    // returning the admin's client certificate as an ExecCredential.
    use base64::Engine as _;
    let text = std::fs::read_to_string(&c.kubeconfig).unwrap();
    let kc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let user = &kc["users"][0]["user"];
    let decode = |k: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(user[k].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let cred = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
        "status": {"clientCertificateData": decode("client-certificate-data"), "clientKeyData": decode("client-key-data")}
    });
    let cred_path = dir.path().join("cred.json");
    std::fs::write(&cred_path, cred.to_string()).unwrap();
    let mut exec_kc = kc.clone();
    exec_kc["users"][0]["user"] = serde_json::json!({"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": "cat", "args": [cred_path.to_str().unwrap()],
        "interactiveMode": "Never"
    }});
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, exec_kc.to_string()).unwrap();
    let r = c.svcdiscover(&[
        "service-pay-v1",
        "--kubeconfig",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["endpoints"]["ready"], 2);
    assert!(
        !r.stdout.contains("BEGIN") && !r.stderr.contains("BEGIN"),
        "credentials are never printed"
    );
}

pub fn each_missing_permission_is_named_once(c: &Cluster) {
    // A user with no permission at all: every read is forbidden.
    let r = c.svcdiscover(&[
        "service-pay-v1",
        "-n",
        "default",
        "--as",
        "e2e-nobody",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["verdict"], "unknown");
    let needs: Vec<&str> = report["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["needs"].as_str())
        .filter(|n| n.starts_with("RBAC: "))
        .collect();
    let unique: std::collections::BTreeSet<&str> = needs.iter().copied().collect();
    assert_eq!(
        unique.len(),
        needs.len(),
        "a permission named twice: {needs:#?}"
    );
    // The Service's entry names the read that failed for it: the get in its
    // namespace, not the cluster-wide list.
    let svc = report["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["check"] == "the Service")
        .unwrap_or_else(|| panic!("{}", report["not_checked"]));
    assert_eq!(svc["needs"], "RBAC: get services in namespace default");
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "each_missing_permission_is_named_once",
        each_missing_permission_is_named_once,
    ),
    (
        "forbidden_required_read_exits_3_naming_verb_and_resource",
        forbidden_required_read_exits_3_naming_verb_and_resource,
    ),
    (
        "forbidden_optional_read_is_listed_under_not_checked",
        forbidden_optional_read_is_listed_under_not_checked,
    ),
    (
        "unreachable_api_server_exits_3",
        unreachable_api_server_exits_3,
    ),
    (
        "exec_without_permission_is_a_real_403",
        exec_without_permission_is_a_real_403,
    ),
    (
        "pod_security_rejects_a_privileged_pod_in_a_restricted_namespace",
        pod_security_rejects_a_privileged_pod_in_a_restricted_namespace,
    ),
    (
        "exec_credential_plugins_authenticate",
        exec_credential_plugins_authenticate,
    ),
];
