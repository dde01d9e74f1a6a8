//! kubectl's cluster access flags and logs against the real API server.

use crate::cluster::*;

/// The test kubeconfig as JSON.
fn kubeconfig(c: &Cluster) -> serde_json::Value {
    serde_saphyr::from_str(&std::fs::read_to_string(&c.kubeconfig).unwrap()).unwrap()
}

pub fn server_flag_overrides_the_kubeconfigs_server(c: &Cluster) {
    let mut kc = kubeconfig(c);
    let real = kc["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_owned();
    kc["clusters"][0]["cluster"]["server"] = serde_json::json!("https://127.0.0.1:1");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&kc).unwrap()).unwrap();
    let r = c.svcdiscover(&[
        "svc/service-pay-v1",
        "--kubeconfig",
        path.to_str().unwrap(),
        "--server",
        &real,
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["service"]["found"], true);
}

pub fn trace_logs_carry_no_credentials(c: &Cluster) {
    let r = c.svcdiscover(&["service-pay-v1", "-v=9", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("/api/v1/namespaces/default/services/service-pay-v1")
    );
    assert!(!r.stderr.contains('\u{1b}'), "colour codes on a pipe");
    let kc = kubeconfig(c);
    let user = &kc["users"][0]["user"];
    for field in [
        "token",
        "client-key-data",
        "client-certificate-data",
        "password",
    ] {
        if let Some(secret) = user[field].as_str() {
            let probe = &secret[..secret.len().min(24)];
            assert!(!r.stderr.contains(probe), "{field} in the logs");
        }
    }
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "server_flag_overrides_the_kubeconfigs_server",
        server_flag_overrides_the_kubeconfigs_server,
    ),
    (
        "trace_logs_carry_no_credentials",
        trace_logs_carry_no_credentials,
    ),
];
