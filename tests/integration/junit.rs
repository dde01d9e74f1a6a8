//! `-o junit`: valid against the JUnit schema (tests/common/junit.rs),
//! pinned by snapshots, and following the `--fail-on` gate as the exit code
//! does.

use serde_json::json;
use svcdiscover::exit::FailOn;

use crate::fixtures::*;
use crate::xsd::validate_junit;

/// `-o junit` on a snapshot: the run, validated.
fn junit(snapshot: &serde_json::Value, args: &[&str]) -> Run {
    let mut a = args.to_vec();
    a.extend(["-o", "junit"]);
    let run = run_on(snapshot, &a);
    validate_junit(&run.stdout);
    run
}

fn count(xml: &str, needle: &str) -> usize {
    xml.matches(needle).count()
}

#[test]
fn one_failing_service_is_a_failing_testcase_with_the_code_message_and_fix() {
    let run = junit(&scenario(), &["service-v4"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let x = &run.stdout;
    assert!(
        x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        "{x}"
    );
    assert_eq!(count(x, "<testsuite "), 1, "{x}");
    assert!(x.contains("<testsuite name=\"default\" tests=\"1\" failures=\"1\" errors=\"0\""));
    assert!(
        x.contains("<testcase classname=\"default\" name=\"service-v4\">"),
        "{x}"
    );
    assert!(
        x.contains("<failure type=\"image-pull-failure\" message=\""),
        "{x}"
    );
    assert!(x.contains(">fix: "), "{x}");
    insta::assert_snapshot!("junit_service_v4", x);
}

#[test]
fn a_reachable_service_passes_and_the_exit_code_does_not_depend_on_the_format() {
    let s = scenario();
    let run = junit(&s, &["service-pay-v1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("<failure"), "{}", run.stdout);
    assert!(!run.stdout.contains("<error"), "{}", run.stdout);
    for (svc, fail_on) in [
        ("service-v4", "error"),
        ("service-v4", "never"),
        ("service-pay-v1", "warning"),
    ] {
        let json = run_on(&s, &[svc, "--fail-on", fail_on, "-o", "json"]).code;
        let xml = junit(&s, &[svc, "--fail-on", fail_on]).code;
        assert_eq!(json, xml, "{svc} --fail-on {fail_on}");
    }
}

/// A degraded Service: its warning fails only under `--fail-on warning`;
/// an unreachable one fails nothing under `--fail-on never`.
#[test]
fn failures_follow_fail_on() {
    let mut degraded = scenario();
    let pod = find(&mut degraded, "Pod", "default", "pay-v1-");
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    for c in pod["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Ready" || c["type"] == "ContainersReady" {
            c["status"] = json!("False");
        }
    }
    let run = junit(&degraded, &["service-pay-v1"]);
    assert_eq!(run.code, 0);
    assert!(!run.stdout.contains("<failure"), "{}", run.stdout);
    assert!(
        run.stdout.contains("<system-out>verdict: degraded"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("warning pods-not-ready: "),
        "{}",
        run.stdout
    );
    let run = junit(&degraded, &["service-pay-v1", "--fail-on", "warning"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("<failure type=\"pods-not-ready\""),
        "{}",
        run.stdout
    );
    let run = junit(&scenario(), &["service-v4", "--fail-on", "never"]);
    assert_eq!(run.code, 0);
    assert!(!run.stdout.contains("<failure"), "{}", run.stdout);
    assert!(
        run.stdout.contains("error image-pull-failure: "),
        "{}",
        run.stdout
    );
}

/// An info finding never fails a case, whatever `--fail-on` says: a
/// Service of the same name in another namespace (`name-shadowed`, info by
/// default) is output, not a failure.
#[test]
fn an_info_finding_never_fails_a_case() {
    let mut s = scenario();
    let mut twin = find(&mut s, "Service", "default", "service-user-v1").clone();
    twin["metadata"]["namespace"] = json!("client");
    twin["metadata"]["name"] = json!("service-pay-v1");
    twin["metadata"].as_object_mut().unwrap().remove("uid");
    twin["spec"]["clusterIP"] = json!("10.96.200.200");
    twin["spec"]["clusterIPs"] = json!(["10.96.200.200"]);
    items(&mut s).push(twin);
    for gate in ["error", "warning", "never"] {
        let run = junit(&s, &["service-pay-v1", "--fail-on", gate]);
        assert_eq!(run.code, 0, "--fail-on {gate}: {}", run.stderr);
        assert!(!run.stdout.contains("<failure"), "{}", run.stdout);
        assert!(
            run.stdout.contains("<system-out>verdict: reachable"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(
                "info name-shadowed: a Service named service-pay-v1 also exists in namespace client"
            ),
            "{}",
            run.stdout
        );
    }
    // Asked about client, the same Service is a warning: it fails the gate.
    let run = junit(
        &s,
        &[
            "service-pay-v1",
            "--from-namespace",
            "client",
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("<failure type=\"name-shadowed\""),
        "{}",
        run.stdout
    );
}

/// Unknown is never a pass: an `<error>`, exit 3.
#[test]
fn unknown_is_an_error_testcase() {
    let mut s = scenario();
    remove_kind(&mut s, "EndpointSlice");
    remove_kind(&mut s, "Endpoints");
    let run = junit(&s, &["service-pay-v1", "--fail-on", "never"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stdout.contains("<error type=\"unknown\" message=\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("errors=\"1\""), "{}", run.stdout);
}

#[test]
fn a_scan_has_a_suite_per_namespace_and_a_case_per_service() {
    let s = scenario();
    let scan = run_on(&s, &["-A", "-o", "json"]).json();
    let run = junit(&s, &["-A"]);
    assert_eq!(run.code, 1);
    let x = &run.stdout;
    let services = scan["reports"].as_array().unwrap();
    assert_eq!(count(x, "<testcase "), services.len(), "{x}");
    let mut namespaces: Vec<&str> = services
        .iter()
        .map(|r| r["service"]["namespace"].as_str().unwrap())
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for ns in &namespaces {
        assert!(
            x.contains(&format!("<testsuite name=\"{ns}\" ")),
            "{ns}: {x}"
        );
    }
    assert_eq!(count(x, "<testsuite "), namespaces.len(), "{x}");
    let unreachable = scan["summary"]["by_verdict"]["unreachable"]
        .as_u64()
        .unwrap();
    assert!(
        x.contains(&format!(
            "<testsuites name=\"kubectl-svcdiscover\" tests=\"{}\" failures=\"{unreachable}\" errors=\"0\">",
            services.len()
        )),
        "{x}"
    );
    insta::assert_snapshot!("junit_scan", x);
}

/// A probed report: one testcase per observed name form and client; a row
/// seen otherwise than predicted fails with `dns-mismatch`.
#[test]
fn observed_name_forms_are_testcases_of_their_own() {
    use svcdiscover::analysis::diagnose_with;
    use svcdiscover::analysis::{Facts, Observations, Options, Target, View, diagnose_observed};
    use svcdiscover::model::{Observed, ObservedStatus, ResolverSeen, Via};
    let state = svcdiscover::source::snapshot::load(&fixture_path("scenario.json"), 1 << 30)
        .expect("the scenario loads");
    let target = Target {
        namespace: "default".into(),
        name: "service-pay-v1".into(),
    };
    let opts = Options {
        from_namespaces: vec!["client".into()],
        ..Options::default()
    };
    let facts = Facts::compute(&state, &opts);
    let predicted = diagnose_with(&state, &facts, &target, &opts);
    let mut view = View {
        client: Some("client".into()),
        ..View::default()
    };
    let rows: Vec<_> = predicted
        .name_forms
        .iter()
        .filter(|r| r.from_namespace.as_deref() == Some("client"))
        .collect();
    assert!(!rows.is_empty());
    for row in &rows {
        let resolved = row.expected_resolves == Some(true);
        let mut o = Observed {
            status: if resolved {
                ObservedStatus::Resolved
            } else {
                ObservedStatus::Nxdomain
            },
            addresses: row.expected_addresses.clone(),
            answered_by: row.answered_by.clone(),
            candidates: vec![],
            via: Via::ProbePod,
            resolver: ResolverSeen::default(),
            as_predicted: None,
            notes: vec!["a <note> & \"quotes\"".into()],
        };
        if row.name == "service-pay-v1.default" {
            o.status = ObservedStatus::Nxdomain;
            o.addresses.clear();
        }
        view.names.insert(row.name.clone(), o);
    }
    let obs = Observations {
        views: vec![view],
        ..Observations::default()
    };
    let r = diagnose_observed(&state, &facts, &target, &opts, &obs);
    let observed = r.name_forms.iter().filter(|f| f.observed.is_some()).count();
    assert_eq!(observed, rows.len());
    let x = svcdiscover::render::junit_one(&r, FailOn::Error);
    validate_junit(&x);
    assert_eq!(count(&x, "<testcase "), 1 + observed, "{x}");
    assert!(
        x.contains("name=\"service-pay-v1 name service-pay-v1.default from namespace client\">"),
        "{x}"
    );
    assert!(x.contains("<failure type=\"dns-mismatch\""), "{x}");
    assert!(
        x.contains("note: a &lt;note&gt; &amp; &quot;quotes&quot;"),
        "{x}"
    );
    // The mismatch fails two test cases: the Service's and the row's.
    assert!(x.contains("failures=\"2\" errors=\"0\">"), "{x}");
    // The short name from client: its prediction is unknown (client's
    // Services were not read), so it was not compared.
    assert!(x.contains("skipped=\"1\""), "{x}");
    assert!(
        x.contains("<skipped message=\"not compared: the prediction for service-pay-v1 is unknown"),
        "{x}"
    );
    insta::assert_snapshot!("junit_probed", x);
    // Never: the same rows pass.
    let x = svcdiscover::render::junit_one(&r, FailOn::Never);
    validate_junit(&x);
    assert!(!x.contains("<failure"), "{x}");
}

/// Text XML forbids, and the five specials, in every field that carries
/// text: still a valid document.
#[test]
fn hostile_text_still_validates() {
    let state = svcdiscover::source::snapshot::load(&fixture_path("scenario.json"), 1 << 30)
        .expect("the scenario loads");
    let target = svcdiscover::analysis::Target {
        namespace: "default".into(),
        name: "service-v4".into(),
    };
    let mut r = svcdiscover::analysis::diagnose(
        &state,
        &target,
        &svcdiscover::analysis::Options::default(),
    );
    let nasty = "<x a=\"1\" b='2'>&amp;</x>\u{0}\u{1b}[31m\u{7}\u{FFFE}\r\n\t]]>";
    r.verdict_reason = nasty.to_owned();
    for f in &mut r.findings {
        f.message = nasty.to_owned();
        f.fix = nasty.to_owned();
    }
    let x = svcdiscover::render::junit_one(&r, FailOn::Error);
    validate_junit(&x);
    assert!(!x.contains('\u{0}') && !x.contains('\u{1b}'), "{x}");
}
