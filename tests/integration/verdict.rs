//! The verdict and the exit code that follows it: never a pass on unknown data.

use serde_json::json;

use crate::fixtures::*;

#[test]
fn a_healthy_service_is_reachable_and_exits_0() {
    let (code, r) = diagnose(&scenario(), &["service-pay-v1"]);
    assert_eq!((code, r["verdict"].as_str()), (0, Some("reachable")));
    assert_eq!(
        r["verdict_reason"],
        "2 of 2 endpoint(s) ready; 1 check(s) could not run"
    );
    // The scenario holds no NetworkPolicies: not checked, never a pass.
    assert!(
        r["not_checked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["check"] == "network policies"),
        "{}",
        r["not_checked"]
    );
    assert_eq!(r["service"]["found"], true);
}

#[test]
fn an_error_finding_makes_it_unreachable_with_the_cause_in_a_few_words() {
    let (code, r) = diagnose(&scenario(), &["service-v4"]);
    assert_eq!((code, r["verdict"].as_str()), (1, Some("unreachable")));
    assert_eq!(
        r["verdict_reason"],
        "its only pod cannot pull registry.example/v4:missing"
    );
    let run = run_on(&scenario(), &["service-v4"]);
    assert!(
        run.stdout.starts_with(
            "service-v4 (default): UNREACHABLE — its only pod cannot pull registry.example/v4:missing\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn warnings_only_are_degraded_and_exit_0() {
    let mut s = scenario();
    let pod = find(&mut s, "Pod", "default", "pay-v1-");
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    for c in pod["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Ready" || c["type"] == "ContainersReady" {
            c["status"] = json!("False");
        }
    }
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(
        (code, r["verdict"].as_str()),
        (0, Some("degraded")),
        "{r:#}"
    );
}

/// `--fail-on`: `warning` fails a degraded verdict, `never` passes an
/// unreachable one, and nothing hides unknown (3) or a usage error (2).
#[test]
fn fail_on_moves_the_line_but_never_hides_unknown() {
    let mut degraded = scenario();
    let pod = find(&mut degraded, "Pod", "default", "pay-v1-");
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    for c in pod["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Ready" || c["type"] == "ContainersReady" {
            c["status"] = json!("False");
        }
    }
    let code = |s: &serde_json::Value, args: &[&str]| run_on(s, args).code;
    let s = scenario();
    for (snapshot, svc, fail_on, want) in [
        (&s, "service-pay-v1", "error", 0),
        (&s, "service-pay-v1", "warning", 0),
        (&s, "service-pay-v1", "never", 0),
        (&degraded, "service-pay-v1", "error", 0),
        (&degraded, "service-pay-v1", "warning", 1),
        (&degraded, "service-pay-v1", "never", 0),
        (&s, "service-v4", "error", 1),
        (&s, "service-v4", "warning", 1),
        (&s, "service-v4", "never", 0),
    ] {
        assert_eq!(
            code(snapshot, &[svc, "--fail-on", fail_on]),
            want,
            "{svc} --fail-on {fail_on}"
        );
    }
    // Unknown stays 3: a namespace the capture does not cover.
    let per_ns = per_namespace_capture();
    assert_eq!(
        code(&per_ns, &["svc-x", "-n", "elsewhere", "--fail-on", "never"]),
        3
    );
    // A scan: the worst verdict, gated the same way.
    assert_eq!(code(&s, &["--all", "--fail-on", "never"]), 0);
    assert_eq!(
        code(&s, &["--all", "-n", "trouble", "--fail-on", "error"]),
        1
    );
    assert_eq!(code(&s, &["service-v4", "--fail-on", "sometimes"]), 2);
}

/// The bundled example as a per-namespace capture: without Namespace
/// objects it says nothing about namespaces it holds no objects of.
fn per_namespace_capture() -> serde_json::Value {
    let mut s = scenario();
    remove_kind(&mut s, "Namespace");
    s
}

#[test]
fn a_snapshot_without_the_services_namespace_is_unknown_and_exits_3() {
    let run = run_on(
        &per_namespace_capture(),
        &["service-pay-v1", "-n", "payments", "-o", "json"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let r = run.json();
    validate(&r);
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(r["service"]["found"], serde_json::Value::Null);
    assert!(
        run.stderr
            .contains("verdict unknown: the Services of namespace payments were not read"),
        "{}",
        run.stderr
    );
    let table = run_on(
        &per_namespace_capture(),
        &["service-pay-v1", "-n", "payments"],
    );
    assert!(
        table
            .stdout
            .contains("Service payments/service-pay-v1  not read"),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains("not found"), "{}", table.stdout);
}

#[test]
fn a_snapshot_without_endpoint_slices_is_unknown_even_with_ready_pods() {
    let mut s = per_namespace_capture();
    remove_kind(&mut s, "EndpointSlice");
    let run = run_on(&s, &["service-pay-v1", "-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(
        r["verdict_reason"],
        "the EndpointSlices of default/service-pay-v1 were not read"
    );
    assert!(not_checked(&r, "endpoints"));
}

#[test]
fn an_unknown_verdict_still_names_the_errors_it_saw() {
    let mut s = per_namespace_capture();
    remove_kind(&mut s, "EndpointSlice");
    let run = run_on(&s, &["service-v4", "-o", "json"]);
    assert_eq!(run.code, 3);
    let r = run.json();
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(
        r["verdict_reason"],
        "the EndpointSlices of default/service-v4 were not read; and its only pod cannot pull registry.example/v4:missing"
    );
}

#[test]
fn a_snapshot_without_the_selected_pods_shows_them_as_not_read() {
    let mut s = per_namespace_capture();
    items(&mut s).retain(|o| !(o["kind"] == "Pod" && o["metadata"]["namespace"] == "default"));
    let (_, r) = diagnose(&s, &["service-v4"]);
    assert_eq!(r["backends"], serde_json::Value::Null);
    let run = run_on(&s, &["service-v4"]);
    assert!(
        run.stdout.contains("Backends  pods: not read"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("0 pod(s) selected"), "{}", run.stdout);
}

#[test]
fn an_external_name_service_needs_no_endpoints_but_a_known_target() {
    // An alias of an in-cluster Service: the verdict rests on that Service's record.
    let mut s = scenario();
    let svc = find(&mut s, "Service", "default", "service-user-v1");
    svc["spec"] =
        json!({"type": "ExternalName", "externalName": "service-pay-v1.default.svc.cluster.local"});
    remove_kind(&mut s, "EndpointSlice");
    let (code, r) = diagnose(&s, &["service-user-v1"]);
    assert_eq!(
        (code, r["verdict"].as_str()),
        (0, Some("reachable")),
        "{r:#}"
    );

    // An alias of an outside name: nothing in the cluster says it resolves.
    let svc = find(&mut s, "Service", "default", "service-user-v1");
    svc["spec"] = json!({"type": "ExternalName", "externalName": "db.example.com"});
    let (code, r) = diagnose(&s, &["service-user-v1"]);
    assert_eq!((code, r["verdict"].as_str()), (3, Some("unknown")), "{r:#}");
    assert_eq!(
        r["verdict_reason"],
        "an ExternalName alias of db.example.com: whether that name resolves is decided outside the cluster"
    );
}

#[test]
fn a_namespace_the_capture_shows_does_not_exist_holds_no_service() {
    // The bundled example lists the cluster's Namespace objects: `payments`
    // is not among them, so nothing lives there (offline as live: exit 1).
    let (code, r) = diagnose(&scenario(), &["service-v4", "-n", "payments"]);
    assert_eq!(
        (code, r["verdict"].as_str()),
        (1, Some("unreachable")),
        "{r:#}"
    );
    assert_eq!(r["verdict_reason"], "there is no namespace payments");
    assert_eq!(r["service"]["found"], false);
    let f = with_code(&r, "service-not-found");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("no Service service-v4: namespace payments does not exist; a Service of that name exists in default"),
        "{}",
        f[0]["message"]
    );
}

#[test]
fn an_alias_of_a_service_without_ready_endpoints_is_unreachable() {
    // service-user-v1 becomes an alias of service-v4, whose only pod cannot
    // pull its image: the alias resolves to a ClusterIP that serves nothing.
    let mut s = scenario();
    let svc = find(&mut s, "Service", "default", "service-user-v1");
    svc["spec"] =
        json!({"type": "ExternalName", "externalName": "service-v4.default.svc.cluster.local"});
    let (code, r) = diagnose(&s, &["service-user-v1"]);
    assert_eq!(
        (code, r["verdict"].as_str()),
        (1, Some("unreachable")),
        "{r:#}"
    );
    let f = with_code(&r, "no-ready-endpoints");
    assert_eq!(f.len(), 1, "{:?}", codes(&r));
    assert!(
        f[0]["message"].as_str().unwrap().starts_with(
            "ExternalName alias of Service default/service-v4, which has no ready endpoint"
        ),
        "{}",
        f[0]["message"]
    );
    assert_eq!(
        f[0]["fix"],
        "diagnose the target: `kubectl svcdiscover service-v4 -n default`"
    );
}

#[test]
fn an_alias_written_as_a_short_service_name_never_resolves() {
    let mut s = scenario();
    let svc = find(&mut s, "Service", "default", "service-user-v1");
    svc["spec"] = json!({"type": "ExternalName", "externalName": "service-pay-v1.default"});
    let (code, r) = diagnose(&s, &["service-user-v1"]);
    assert_eq!(
        (code, r["verdict"].as_str()),
        (1, Some("unreachable")),
        "{r:#}"
    );
    let f = with_code(&r, "external-name-unresolvable");
    assert_eq!(f.len(), 1, "{:?}", codes(&r));
    assert!(
        f[0]["fix"].as_str().unwrap().contains(
            r#"`kubectl -n default patch service service-user-v1 -p '{"spec":{"externalName":"service-pay-v1.default.svc.cluster.local"}}'`"#
        ),
        "{}",
        f[0]["fix"]
    );
    // An outside name is still left to the upstream resolvers.
    let svc = find(&mut s, "Service", "default", "service-user-v1");
    svc["spec"]["externalName"] = json!("db.example.com");
    let (_, r) = diagnose(&s, &["service-user-v1"]);
    assert!(with_code(&r, "external-name-unresolvable").is_empty());
}
