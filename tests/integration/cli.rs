//! kubectl habits: how the Service is named, how verbosity is spelled, and
//! logs without colour codes where nobody sees colours.

use crate::fixtures::*;

#[test]
fn the_service_may_be_given_as_kubectl_spells_it() {
    let (code, plain) = diagnose(&scenario(), &["service-pay-v1"]);
    for arg in [
        "svc/service-pay-v1",
        "service/service-pay-v1",
        "services/service-pay-v1",
    ] {
        let (c, r) = diagnose(&scenario(), &[arg]);
        assert_eq!((c, &r), (code, &plain), "{arg}");
    }
}

#[test]
fn another_resource_type_is_a_usage_error_saying_what_is_accepted() {
    let run = run_on(&scenario(), &["deployment/pay-v1"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains(
            "resource type `deployment` is not accepted: give the Service as NAME, svc/NAME, service/NAME or services/NAME"
        ),
        "{}",
        run.stderr
    );
    // The name is still checked after the type.
    let run = run_on(&scenario(), &["svc/Service-Pay"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("DNS-1035"), "{}", run.stderr);
}

/// Every kubectl spelling of verbosity parses, keeps SERVICE, and logs.
#[test]
fn verbosity_is_spelled_as_kubectl_users_type_it() {
    let spellings: [&[&str]; 8] = [
        &["-v", "service-pay-v1"],
        &["-vv", "service-pay-v1"],
        &["-vvv", "service-pay-v1"],
        &["-v=6", "service-pay-v1"],
        &["--v=6", "service-pay-v1"],
        &["-v", "6", "service-pay-v1"],
        &["service-pay-v1", "-v", "6"],
        &["service-pay-v1", "-v"],
    ];
    for args in spellings {
        let run = run_on(&scenario(), &[args, &["-o", "json"]].concat());
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.json()["service"]["name"], "service-pay-v1", "{args:?}");
        assert!(!run.stderr.is_empty(), "{args:?} logs nothing");
    }
    // -v=0 is silent, like no -v.
    let run = run_on(&scenario(), &["-v=0", "service-pay-v1"]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn kubectl_levels_map_onto_info_debug_trace() {
    let level_words = |v: &str| {
        let run = run_on(&scenario(), &[v, "service-pay-v1"]);
        assert_eq!(run.code, 0, "{v}: {}", run.stderr);
        ["INFO", "DEBUG", "TRACE"]
            .into_iter()
            .filter(|l| run.stderr.contains(l))
            .collect::<Vec<_>>()
    };
    assert_eq!(level_words("-v=2"), ["INFO"]);
    assert_eq!(level_words("-v=4"), ["INFO", "DEBUG"]);
}

#[test]
fn help_documents_the_kubectl_levels() {
    let out = cmd().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("0 off, 1-3 info, 4-5 debug, 6 and above trace"),
        "{help}"
    );
    assert!(help.contains("svc/NAME"), "{help}");
}

/// Logs on a pipe carry no ESC byte, whatever NO_COLOR says.
#[test]
fn logs_carry_no_colour_codes_off_a_terminal() {
    let scenario = serde_json::to_vec(&scenario()).unwrap();
    for extra in [&[][..], &["--color", "never"]] {
        let out = cmd()
            .env_remove("NO_COLOR")
            .args(["-v", "6", "service-pay-v1", "--snapshot", "-"])
            .args(extra)
            .write_stdin(scenario.clone())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.is_empty(), "-v 6 logs");
        assert!(!stderr.contains('\u{1b}'), "{extra:?}: ESC in\n{stderr}");
    }
}

#[test]
fn a_client_namespace_the_capture_lacks_is_a_usage_error() {
    // The scenario lists its Namespace objects: the list is known.
    let run = run_on(
        &scenario(),
        &[
            "service-pay-v1",
            "--from-namespace",
            "client",
            "--from-namespace",
            "clients",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.stderr,
        "error: --from-namespace: namespace clients does not exist; the namespaces are: client, default, kube-node-lease, kube-public, kube-system, restricted, trouble\n"
    );
}

#[test]
fn without_a_namespace_list_any_client_namespace_is_taken() {
    let mut s = scenario();
    remove_kind(&mut s, "Namespace");
    let (code, report) = diagnose(&s, &["service-pay-v1", "--from-namespace", "clients"]);
    assert_eq!(code, 0);
    assert_eq!(
        form(&report, "service-pay-v1.default", Some("clients"))["from_namespace"],
        "clients"
    );
}

#[test]
fn a_user_or_cluster_the_kubeconfig_lacks_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: admin\nclusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: admin\n  context:\n    cluster: local\n    user: admin\nusers:\n- name: admin\n  user:\n    token: t0ps3cret\n",
    )
    .unwrap();
    for (flag, what) in [("--user", "auth info"), ("--cluster", "cluster")] {
        let out = cmd()
            .args(["service-pay-v1", "--kubeconfig"])
            .arg(&kc)
            .args([flag, "nope"])
            .output()
            .unwrap();
        let run = Run::from_output(out);
        // Not a silent fall-back to anonymous (exit 3, forbidden).
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{what} \"nope\" does not exist in the kubeconfig")),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("t0ps3cret"));
    }
}

#[test]
fn a_stderr_that_cannot_be_written_does_not_change_the_exit_code() {
    // `… 2>&1 | grep -q …` closes the pipe early; `2>/dev/full` fails writes.
    let run = |args: &[&str]| {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
            .args(args)
            .arg("--snapshot")
            .arg(fixture_path("scenario.json"))
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(full)
            .status()
            .expect("run")
            .code()
    };
    // The verdict's code, not a panic's 101.
    assert_eq!(run(&["service-v4", "-v=6"]), Some(1));
    assert_eq!(run(&["service-v4", "-n", "nowhere"]), Some(1));
}

/// `--wait` waits on a live cluster only, for a positive time of at most 1h:
/// anything else is a usage error (2) with a one-line reason, before any read.
#[test]
fn wait_is_a_usage_error_with_a_snapshot_or_a_bad_duration() {
    for (args, says) in [
        (
            &["service-v4", "--wait", "30s", "--snapshot", "-"][..],
            "a --snapshot never changes, so it cannot be waited on",
        ),
        (
            &["service-v4", "--wait", "0s"][..],
            "the wait must be positive",
        ),
        (
            &["service-v4", "--wait", "2h"][..],
            "the wait must be at most 1h",
        ),
        (
            &["service-v4", "--wait", "soon"][..],
            "not a duration such as 30s or 2m",
        ),
    ] {
        let out = cmd().args(args).output().expect("run");
        let run = Run::from_output(out);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

/// JSON and YAML are written as they are encoded: a reader that stops
/// early (`| head`) leaves the verdict's exit code and no error, and a
/// stdout that cannot be written (`>/dev/full`) is an output error.
#[test]
fn a_closed_stdout_keeps_the_verdict_and_a_full_one_is_an_output_error() {
    let cmd = |format: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"));
        c.args(["-A", "-o", format, "--snapshot"])
            .arg(fixture_path("scenario.json"))
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped());
        c
    };
    for format in ["json", "yaml"] {
        let whole = cmd(format).output().expect("run");
        assert!(whole.stdout.len() > 1 << 16, "more than a pipe holds");
        let mut child = cmd(format)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run");
        drop(child.stdout.take());
        let closed = child.wait_with_output().expect("run");
        assert_eq!(closed.status.code(), whole.status.code(), "{format}");
        let stderr = String::from_utf8_lossy(&closed.stderr);
        assert!(!stderr.contains("error"), "{format}: {stderr}");

        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let failed = cmd(format).stdout(full).output().expect("run");
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert_ne!(
            failed.status.code(),
            whole.status.code(),
            "{format}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert!(stderr.contains("error"), "{format}: {stderr}");
    }
}
