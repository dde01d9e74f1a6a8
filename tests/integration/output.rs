//! Rendered output pinned by snapshots, plus the rules every format keeps.

use serde_json::json;

use crate::fixtures::*;

#[test]
fn table_healthy_service() {
    let run = run_on(&scenario(), &["service-pay-v1"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("table_service_pay_v1", run.stdout);
}

#[test]
fn table_image_pull_backoff() {
    let run = run_on(&scenario(), &["service-v4"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("table_service_v4", run.stdout);
}

#[test]
fn wide_table_shows_the_resolver_walk() {
    let run = run_on(
        &scenario(),
        &["service-pay-v1", "-o", "wide", "--from-namespace", "client"],
    );
    insta::assert_snapshot!("wide_service_pay_v1_from_client", run.stdout);
}

#[test]
fn json_image_pull_backoff() {
    let (_, r) = diagnose(&scenario(), &["service-v4"]);
    insta::assert_json_snapshot!("json_service_v4", r);
}

#[test]
fn yaml_carries_the_same_report_as_json() {
    let (_, j) = diagnose(&scenario(), &["service-v4"]);
    let y = run_on(&scenario(), &["service-v4", "-o", "yaml"]);
    assert_eq!(y.code, 1);
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&y.stdout).unwrap();
    assert_eq!(from_yaml, j);
}

#[test]
fn no_headers_drops_column_headers() {
    let run = run_on(&scenario(), &["service-pay-v1", "--no-headers"]);
    assert!(!run.stdout.contains("POD "), "{}", run.stdout);
    assert!(!run.stdout.contains("SEVERITY"));
    assert!(run.stdout.contains("Backends"));
}

#[test]
fn colour_only_when_asked_and_never_in_json() {
    let plain = run_on(&scenario(), &["service-v4"]);
    assert!(
        !plain.stdout.contains('\u{1b}'),
        "not a terminal: no colour"
    );
    let forced = run_on(&scenario(), &["service-v4", "--color", "always"]);
    assert!(forced.stdout.contains("\u{1b}["), "--color always colours");
    let json = run_on(
        &scenario(),
        &["service-v4", "--color", "always", "-o", "json"],
    );
    assert!(!json.stdout.contains('\u{1b}'));
}

#[test]
fn control_characters_from_the_cluster_are_neutralised() {
    let mut s = scenario();
    for e in items(&mut s)
        .iter_mut()
        .filter(|o| o["kind"] == "Event" && o["reason"] == "Failed")
    {
        e["message"] = json!(
            "Failed to pull image \"registry.example/v4:missing\": \u{1b}[2J\u{1b}]0;pwned\u{7} not found"
        );
    }
    let run = run_on(&s, &["service-v4"]);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(run.stdout.contains("\\u{1b}[2J"));
}

#[test]
fn help_speaks_kubectl() {
    let out = cmd().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: kubectl svcdiscover"), "{help}");
    assert!(help.contains("Exit codes:"));
    for flag in [
        "--kubeconfig",
        "--context",
        "--cluster",
        "--user",
        "--as",
        "--as-group",
        "--request-timeout",
        "--output",
        "--no-headers",
        "--color",
        "--from-namespace",
        "--cluster-domain",
        "--snapshot",
    ] {
        assert!(help.contains(flag), "missing {flag}");
    }
}
