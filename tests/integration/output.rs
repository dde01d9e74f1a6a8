//! Rendered output pinned by snapshots, plus the rules every format keeps.

use serde_json::json;

use crate::fixtures::*;

/// Run with a terminal width (COLUMNS, as when piped) and check that no
/// line is wider than it.
fn at_width(width: usize, args: &[&str]) -> Run {
    let out = cmd()
        .env("COLUMNS", width.to_string())
        .args(args)
        .args(["--snapshot", "-"])
        .write_stdin(serde_json::to_vec(&scenario()).expect("encode"))
        .output()
        .expect("run");
    let run = Run::from_output(out);
    for line in run.stdout.lines() {
        // A command is never broken (it must paste): alone on its line, it
        // may overflow, and the terminal soft-wraps it.
        let one_command = line.trim_start().starts_with("`kubectl ")
            && line.trim_end().ends_with('`')
            && line.matches('`').count() == 2;
        assert!(
            one_command || line.chars().count() <= width,
            "line wider than {width} columns ({}):\n{line}\n\n{}",
            line.chars().count(),
            run.stdout
        );
    }
    run
}

#[test]
fn table_healthy_service() {
    for width in [80, 110, 200] {
        let run = at_width(width, &["service-pay-v1"]);
        assert_eq!(run.code, 0);
        assert!(
            run.stdout
                .starts_with("service-pay-v1 (default): REACHABLE — 2 of 2 endpoint(s) ready"),
            "{}",
            run.stdout
        );
        insta::assert_snapshot!(format!("table_service_pay_v1_{width}"), run.stdout);
    }
}

#[test]
fn table_image_pull_backoff() {
    for width in [80, 110, 200] {
        let run = at_width(width, &["service-v4"]);
        assert_eq!(run.code, 1);
        insta::assert_snapshot!(format!("table_service_v4_{width}"), run.stdout);
    }
}

#[test]
fn table_names_the_service_that_a_shadowed_name_reaches() {
    let mut s = scenario();
    // A Service of the same name in namespace client answers the short name there.
    let mut twin = find(&mut s, "Service", "default", "service-user-v1").clone();
    twin["metadata"]["namespace"] = json!("client");
    twin["metadata"]["name"] = json!("service-pay-v1");
    twin["metadata"].as_object_mut().unwrap().remove("uid");
    twin["spec"]["clusterIP"] = json!("10.96.200.200");
    twin["spec"]["clusterIPs"] = json!(["10.96.200.200"]);
    items(&mut s).push(twin);
    let out = cmd()
        .env("COLUMNS", "80")
        .args([
            "service-pay-v1",
            "--from-namespace",
            "client",
            "--snapshot",
            "-",
        ])
        .write_stdin(serde_json::to_vec(&s).expect("encode"))
        .output()
        .expect("run");
    let run = Run::from_output(out);
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("service-pay-v1  "))
        .unwrap_or_else(|| panic!("no short-name row:\n{}", run.stdout));
    assert!(row.contains("✗ reaches client/service-pay-v1"), "{row}");
    assert!(
        !row.contains('✓'),
        "a shadowed name is never a plain yes: {row}"
    );
    insta::assert_snapshot!("table_shadowed_80", run.stdout);

    let (_, r) = diagnose(&s, &["service-pay-v1", "--from-namespace", "client"]);
    let short = form(&r, "service-pay-v1", Some("client"));
    assert_eq!(short["expected_resolves"], true);
    assert_eq!(short["reaches_target"], false);
    assert_eq!(
        form(&r, "service-pay-v1.default", Some("client"))["reaches_target"],
        true
    );
}

#[test]
fn wide_table_shows_the_resolver_walk() {
    let run = at_width(
        80,
        &["service-pay-v1", "-o", "wide", "--from-namespace", "client"],
    );
    // Every candidate on its own line, the answering one marked.
    assert!(
        run.stdout.contains(
            "    2. service-pay-v1.default.svc.cluster.local.  → 10.96.103.72  (answers)"
        ),
        "{}",
        run.stdout
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
fn no_headers_drops_column_headers_and_section_titles() {
    let run = run_on(&scenario(), &["service-v4", "--no-headers"]);
    for header in [
        "POD ",
        "NAME ",
        "Backends",
        "Name forms",
        "Findings",
        "Cluster DNS",
    ] {
        assert!(!run.stdout.contains(header), "{header}:\n{}", run.stdout);
    }
    // The data stays: the pod row and the findings.
    assert!(run.stdout.contains("ImagePullBackOff"), "{}", run.stdout);
    assert!(run.stdout.contains("image-pull-failure"));
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
    assert!(help.contains("Exit codes (they follow the report's verdict):"));
    assert!(help.contains("3    unknown: what the verdict needs could not be read"));
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

#[test]
fn long_names_stack_instead_of_squeezing_the_matrix() {
    let long = "payments-gateway-internal-api-for-the-eu-region";
    let mut s = scenario();
    find(&mut s, "Service", "default", "service-pay-v1")["metadata"]["name"] = json!(long);
    for o in items(&mut s).iter_mut().filter(|o| {
        o["kind"] == "EndpointSlice"
            && o["metadata"]["labels"]["kubernetes.io/service-name"] == "service-pay-v1"
    }) {
        o["metadata"]["labels"]["kubernetes.io/service-name"] = json!(long);
    }
    let out = cmd()
        .env("COLUMNS", "80")
        .args([
            long,
            "--from-namespace",
            "client",
            "--from-namespace",
            "default",
        ])
        .args(["--snapshot", "-"])
        .write_stdin(serde_json::to_vec(&s).unwrap())
        .output()
        .unwrap();
    let run = Run::from_output(out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 80, "{line}\n{}", run.stdout);
    }
    // Each name on its line, each client's answer whole below it.
    let fqdn = format!("{long}.default.svc.cluster.local");
    let at = run
        .stdout
        .lines()
        .position(|l| l == fqdn)
        .expect(&run.stdout);
    let below: Vec<&str> = run.stdout.lines().skip(at + 1).take(2).collect();
    assert!(
        below[0].starts_with("  from client: ✓ 10.96.103.72 ["),
        "{below:?}"
    );
    assert!(
        below[1].starts_with("  from default: ✓ 10.96.103.72 ["),
        "{below:?}"
    );
}
