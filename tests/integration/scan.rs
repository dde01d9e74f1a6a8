//! `--all` and `-A`: every Service of a namespace or of the cluster, on the
//! bundled example and edits of it.

use serde_json::Value;

use crate::fixtures::*;

fn scan(snapshot: &Value, args: &[&str]) -> (i32, Value) {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let run = run_on(snapshot, &a);
    let report = run.json();
    validate(&report);
    assert_eq!(report["kind"], "Scan", "{report}");
    (run.code, report)
}

fn names(scan: &Value) -> Vec<String> {
    scan["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["service"]["namespace"].as_str().unwrap(),
                r["service"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn badness(v: &Value) -> u8 {
    match v.as_str().unwrap() {
        "unreachable" => 3,
        "unknown" => 2,
        "degraded" => 1,
        _ => 0,
    }
}

/// Each scanned Service's report is its single-Service report: the same
/// verdict, reason, findings (the cluster-wide ones moved to the summary),
/// name forms and gaps.
#[test]
fn each_scanned_service_gets_its_single_service_report() {
    let s = scenario();
    let (code, all) = scan(&s, &["-A"]);
    assert_eq!(code, 1, "two Services of the example are unreachable");
    let reports = all["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 10, "{:?}", names(&all));
    assert_eq!(all["summary"]["services"], 10);
    let cluster = all["summary"]["cluster_findings"].as_array().unwrap();
    for r in reports {
        let ns = r["service"]["namespace"].as_str().unwrap();
        let name = r["service"]["name"].as_str().unwrap();
        let (_, one) = diagnose(&s, &[name, "-n", ns]);
        for field in [
            "verdict",
            "verdict_reason",
            "service",
            "backends",
            "endpoints",
            "dns",
            "name_forms",
            "not_checked",
        ] {
            assert_eq!(r[field], one[field], "{ns}/{name}: {field}");
        }
        let single: Vec<&Value> = one["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !cluster.contains(f))
            .collect();
        let scanned: Vec<&Value> = r["findings"].as_array().unwrap().iter().collect();
        assert_eq!(scanned, single, "{ns}/{name}: findings");
    }
}

#[test]
fn worst_first_counts_and_exit_code_follow_the_verdicts() {
    let (code, all) = scan(&scenario(), &["-A"]);
    let reports = all["reports"].as_array().unwrap();
    let bad: Vec<u8> = reports.iter().map(|r| badness(&r["verdict"])).collect();
    assert!(bad.windows(2).all(|w| w[0] >= w[1]), "worst first: {bad:?}");
    let count = |v: &str| reports.iter().filter(|r| r["verdict"] == v).count();
    for v in ["reachable", "degraded", "unreachable", "unknown"] {
        assert_eq!(all["summary"]["by_verdict"][v], count(v), "{v}");
    }
    assert_eq!(all["verdict"], "unreachable");
    assert_eq!(code, 1);
    // Only the namespace asked for.
    let (code, trouble) = scan(&scenario(), &["--all", "-n", "trouble"]);
    assert_eq!(code, 1);
    assert_eq!(
        names(&trouble),
        [
            "trouble/crashy",
            "trouble/unplaceable",
            "trouble/web-unready"
        ]
    );
    assert_eq!(trouble["summary"]["namespace"], "trouble");
    // Offline, --all without -n is namespace default, as kubectl would.
    let (_, default) = scan(&scenario(), &["--all"]);
    assert!(names(&default).iter().all(|n| n.starts_with("default/")));
    assert_eq!(names(&default).len(), 6);
}

#[test]
fn a_selector_narrows_the_scan_and_an_empty_scan_is_never_a_pass() {
    let (code, k) = scan(&scenario(), &["-A", "-l", "provider=kubernetes"]);
    assert_eq!(names(&k), ["default/kubernetes"]);
    assert_eq!(k["summary"]["selector"], "provider=kubernetes");
    assert_eq!((code, k["verdict"].as_str()), (0, Some("reachable")));
    let (code, k) = scan(&scenario(), &["-A", "-l", "k8s-app in (kube-dns),!nothing"]);
    assert_eq!(names(&k), ["kube-system/kube-dns"]);
    assert_eq!(code, 0);
    // Nothing matches: unknown, exit 3, and the reason says so.
    let (code, none) = scan(&scenario(), &["-A", "-l", "app=nothing-like-this"]);
    assert_eq!(none["summary"]["services"], 0);
    assert_eq!(none["verdict"], "unknown");
    assert_eq!(code, 3);
    assert!(
        none["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("no Service to scan"),
        "{none}"
    );
}

/// Cluster DNS missing: reported once, in the summary, and every
/// Service's verdict still counts it.
#[test]
fn cluster_wide_findings_are_reported_once() {
    let mut s = scenario();
    remove(&mut s, "Service", "kube-system", "kube-dns");
    // Another kube-system Service shows they were captured: kube-dns is
    // missing (as in findings.rs).
    items(&mut s).push(serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metrics-server", "namespace": "kube-system"},
        "spec": {"clusterIP": "10.96.5.5", "clusterIPs": ["10.96.5.5"], "ports": [{"port": 443, "protocol": "TCP", "targetPort": 4443}], "selector": {"k8s-app": "metrics-server"}}}));
    let (code, all) = scan(&s, &["-A"]);
    assert_eq!(code, 1);
    let cluster: Vec<&str> = all["summary"]["cluster_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(cluster.contains(&"dns-service-missing"), "{cluster:?}");
    for r in all["reports"].as_array().unwrap() {
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["code"] != "dns-service-missing"),
            "{}",
            r["service"]["name"]
        );
        assert_eq!(r["verdict"], "unreachable", "{}", r["service"]["name"]);
    }
}

#[test]
fn the_table_fits_80_columns_and_ends_with_the_counts() {
    let run = cmd()
        .env("COLUMNS", "80")
        .args(["-A", "--snapshot"])
        .arg(fixture_path("scenario.json"))
        .output()
        .unwrap();
    let text = String::from_utf8(run.stdout).unwrap();
    assert_eq!(run.status.code(), Some(1));
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
    assert!(
        text.starts_with("Scan of every namespace: UNREACHABLE"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("10 Service(s): 5 reachable, 0 degraded, 5 unreachable, 0 unknown"),
        "{text}"
    );
    insta::assert_snapshot!("scan_table_80", text);
}

#[test]
fn scan_flags_that_do_not_fit_are_usage_errors() {
    for args in [
        &["service-pay-v1", "--all"][..],
        &["service-pay-v1", "-A"][..],
        &["-A", "-n", "default"][..],
        &["-l", "app=x"][..],
        &["--all", "-l", "=bad"][..],
        &["--all", "--probe", "pod"][..],
    ] {
        let run = run_on(&scenario(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}
