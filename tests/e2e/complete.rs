//! `kubectl svcdiscover <TAB>`: the completion shim
//! (completions/kubectl_complete-svcdiscover), run as kubectl runs it, against
//! the live cluster: Service names, namespaces and pods come from it, and a
//! kubeconfig that does not lead to it gives only the directive.

use std::path::Path;

use crate::cluster::*;

/// The shim's output for `words`, with the built binary on PATH.
fn shim(words: &[&str]) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = std::process::Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/kubectl_complete-svcdiscover"),
    )
    .args(words)
    .env("PATH", path)
    .env_remove("KUBECONFIG")
    .output()
    .unwrap();
    assert!(out.status.success(), "{words:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{words:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The candidates (before any tab) and the directive line.
fn candidates(out: &str) -> (Vec<String>, String) {
    let mut lines: Vec<&str> = out.lines().collect();
    let directive = lines.pop().unwrap_or_default().to_owned();
    let names = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    (names, directive)
}

/// Names kubectl lists.
fn kubectl_names(c: &Cluster, args: &[&str]) -> Vec<String> {
    let mut a = args.to_vec();
    a.extend(["-o", "jsonpath={.items[*].metadata.name}"]);
    let r = c.kubectl(&a);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut names: Vec<String> = r.stdout.split_whitespace().map(str::to_owned).collect();
    names.sort();
    names
}

pub fn services_namespaces_and_pods_come_from_the_cluster(c: &Cluster) {
    let kc = c.kubeconfig.as_str();
    // Service names: a namespace nothing else changes, exactly as kubectl lists it.
    let (names, directive) = candidates(&shim(&["--kubeconfig", kc, "-n", "kube-system", ""]));
    assert_eq!(
        names,
        kubectl_names(c, &["get", "services", "-n", "kube-system"])
    );
    assert!(names.contains(&"kube-dns".to_owned()), "{names:?}");
    assert_eq!(directive, ":4");
    // Filtered by what is typed, and kept in kubectl's svc/NAME form.
    let (names, _) = candidates(&shim(&[
        "--kubeconfig",
        kc,
        "-n",
        "default",
        "svc/service-p",
    ]));
    assert!(
        names.contains(&"svc/service-pay-v1".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"svc/service-pay-typo".to_owned()),
        "{names:?}"
    );
    assert!(
        names.iter().all(|n| n.starts_with("svc/service-p")),
        "{names:?}"
    );

    // Namespaces, for -n and --from-namespace.
    let (names, directive) = candidates(&shim(&["--kubeconfig", kc, "service-pay-v1", "-n", ""]));
    for ns in ["default", "client", "kube-system"] {
        assert!(names.contains(&ns.to_owned()), "{ns}: {names:?}");
    }
    assert_eq!(directive, ":4");
    let (names, _) = candidates(&shim(&[
        "--kubeconfig",
        kc,
        "service-pay-v1",
        "--from-namespace=cl",
    ]));
    // (Other tests create namespaces of their own while this runs.)
    assert!(names.contains(&"client".to_owned()), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("cl")), "{names:?}");

    // --from: running pods of the namespace typed.
    let client = c.pod("client", "client");
    let (names, directive) = candidates(&shim(&[
        "--kubeconfig",
        kc,
        "service-pay-v1",
        "--from",
        "client/",
    ]));
    assert!(names.contains(&format!("client/{client}")), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("client/")), "{names:?}");
    assert_eq!(directive, ":4");
    // Without a namespace: the pods of -n's; none matching, the namespaces as NS/.
    let (names, _) = candidates(&shim(&[
        "--kubeconfig",
        kc,
        "service-pay-v1",
        "-n",
        "client",
        "--from",
        "",
    ]));
    assert!(names.contains(&client), "{names:?}");
    let (names, directive) = candidates(&shim(&[
        "--kubeconfig",
        kc,
        "service-pay-v1",
        "-n",
        "default",
        "--from",
        "clie",
    ]));
    assert!(names.contains(&"client/".to_owned()), "{names:?}");
    assert!(names.iter().all(|n| n.ends_with('/')), "{names:?}");
    assert_eq!(directive, ":6");
}

pub fn a_kubeconfig_that_does_not_lead_to_the_cluster_gives_only_the_directive(c: &Cluster) {
    let kc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&c.kubeconfig).unwrap()).unwrap();
    let mut refused = kc.clone();
    refused["clusters"][0]["cluster"]["server"] = serde_json::json!("https://127.0.0.1:1");
    let dir = tempfile::tempdir().unwrap();
    let refused_path = dir.path().join("refused");
    std::fs::write(&refused_path, serde_json::to_string(&refused).unwrap()).unwrap();
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "not: [a kubeconfig").unwrap();
    for kubeconfig in [
        refused_path.to_str().unwrap(),
        garbage.to_str().unwrap(),
        "/nonexistent/kubeconfig",
    ] {
        for words in [
            &["--kubeconfig", kubeconfig, ""][..],
            &["--kubeconfig", kubeconfig, "web", "-n", ""],
            &["--kubeconfig", kubeconfig, "web", "--from", "client/"],
        ] {
            assert_eq!(shim(words), ":4\n", "{words:?}");
        }
    }
    // A context the kubeconfig does not have: likewise.
    assert_eq!(
        shim(&["--kubeconfig", &c.kubeconfig, "--context", "nope", ""]),
        ":4\n"
    );
}

/// kubectl itself finds the shim on PATH and passes its candidates on:
/// `kubectl __complete` is what kubectl's own shell completion runs.
pub fn kubectl_completes_through_the_shim(c: &Cluster) {
    let dir = tempfile::tempdir().unwrap();
    for (link, target) in [
        (
            "kubectl-svcdiscover",
            Path::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover")).to_owned(),
        ),
        (
            "kubectl_complete-svcdiscover",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/kubectl_complete-svcdiscover"),
        ),
    ] {
        std::os::unix::fs::symlink(target, dir.path().join(link)).unwrap();
    }
    let path = std::env::join_paths(std::iter::once(dir.path().to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = std::process::Command::new(&c.kubectl)
        .args(["__complete", "svcdiscover", "--kubeconfig", &c.kubeconfig])
        .args(["-n", "kube-system", ""])
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (names, directive) = candidates(&stdout);
    assert_eq!(
        names,
        kubectl_names(c, &["get", "services", "-n", "kube-system"]),
        "{stdout}"
    );
    assert_eq!(directive, ":4", "{stdout}");
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "services_namespaces_and_pods_come_from_the_cluster",
        services_namespaces_and_pods_come_from_the_cluster,
    ),
    (
        "kubectl_completes_through_the_shim",
        kubectl_completes_through_the_shim,
    ),
    (
        "a_kubeconfig_that_does_not_lead_to_the_cluster_gives_only_the_directive",
        a_kubeconfig_that_does_not_lead_to_the_cluster_gives_only_the_directive,
    ),
];
