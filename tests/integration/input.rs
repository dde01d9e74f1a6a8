//! Snapshot formats, coverage, and bad input (exit 2, file and position).

use serde_json::{Value, json};

use crate::fixtures::*;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn run_path(path: &std::path::Path, args: &[&str]) -> Run {
    let out = cmd()
        .args(args)
        .arg("--snapshot")
        .arg(path)
        .args(["-o", "json"])
        .output()
        .unwrap();
    Run::from_output(out)
}

/// `kubectl get … -o yaml`-style multi-document YAML of the scenario.
fn to_yaml_docs(v: &Value) -> String {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| serde_saphyr::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

#[test]
fn yaml_multi_document_gives_the_same_diagnosis_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = fixture_path("scenario.json");
    let yaml_path = write(&dir, "scenario.yaml", &to_yaml_docs(&scenario()));
    let a = run_path(&json_path, &["service-v4"]).json();
    let b = run_path(&yaml_path, &["service-v4"]).json();
    assert_eq!(a, b);
}

#[test]
fn cluster_info_dump_directory_with_typed_lists_and_v1_endpoints() {
    // The --output-directory tree: <ns>/<kind>.json, typed lists whose items lack `kind`.
    let s = scenario();
    let dir = tempfile::tempdir().unwrap();
    for ns in ["default", "kube-system"] {
        for (file, kind) in [
            ("services.json", "Service"),
            ("pods.json", "Pod"),
            ("events.json", "Event"),
            ("deployments.json", "Deployment"),
        ] {
            let objs: Vec<Value> = s["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["kind"] == kind && o["metadata"]["namespace"] == ns)
                .map(|o| {
                    let mut o = o.clone();
                    o.as_object_mut().unwrap().remove("kind");
                    o.as_object_mut().unwrap().remove("apiVersion");
                    o
                })
                .collect();
            let list = json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {}, "items": objs});
            write(
                &dir,
                &format!("{ns}/{file}"),
                &serde_json::to_string_pretty(&list).unwrap(),
            );
        }
        write(
            &dir,
            &format!("{ns}/web-0/logs.txt"),
            "plain log text, ignored\n",
        );
    }
    let run = run_path(dir.path(), &["service-pay-v1"]);
    let r = run.json();
    validate(&r);
    // No EndpointSlices, no Endpoints: endpoints are not checked, never "none".
    assert_eq!(r["endpoints"], Value::Null);
    assert!(not_checked(&r, "endpoints"), "{}", r["not_checked"]);
    assert!(codes(&r).iter().all(|c| c != "no-ready-endpoints"));
    assert_eq!(r["backends"].as_array().unwrap().len(), 2);

    // With v1 Endpoints present, they stand in for the slices.
    let eps = json!({"kind": "EndpointsList", "apiVersion": "v1", "items": [{
        "metadata": {"name": "service-pay-v1", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "10.244.0.1", "targetRef": {"kind": "Pod", "name": "x", "namespace": "default"}}],
                     "notReadyAddresses": [{"ip": "10.244.0.9"}], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]
    }]});
    write(&dir, "default/endpoints.json", &eps.to_string());
    let r = run_path(dir.path(), &["service-pay-v1"]).json();
    assert_eq!(r["endpoints"]["from_endpoints"], true);
    assert_eq!(r["endpoints"]["ready"], 1);
    assert_eq!(r["endpoints"]["not_ready"], 1);
}

#[test]
fn cluster_info_dump_stream_skips_log_sections() {
    let s = scenario();
    let mut text = String::new();
    for kind in ["Service", "Pod", "EndpointSlice", "Event", "ConfigMap"] {
        let objs: Vec<&Value> = s["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] == kind)
            .collect();
        let list = json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {}, "items": objs});
        text.push_str(&serde_json::to_string_pretty(&list).unwrap());
        text.push('\n');
        text.push_str("==== START logs for container app of pod default/pay-v1 ====\n{not json at all\n==== END logs for container app of pod default/pay-v1 ====\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "dump.txt.json", &text);
    let run = run_path(&p, &["service-v4"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(with_code(&run.json(), "image-pull-failure").len(), 1);
}

#[test]
fn namespaces_and_kinds_absent_from_the_snapshot_are_unknown_not_empty() {
    let mut s = scenario();
    remove_kind(&mut s, "Pod");
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert!(
        codes(&r).iter().all(|c| c != "selector-matches-no-pods"),
        "{:?}",
        codes(&r)
    );
    assert!(not_checked(&r, "selector"));
    assert_eq!(code, 0);

    // A Service in a namespace the snapshot knows nothing else about (and
    // without Namespace objects, which would show that it does not exist).
    let mut s = scenario();
    remove_kind(&mut s, "Namespace");
    let (_, r) = diagnose(&s, &["web", "-n", "elsewhere"]);
    assert!(
        codes(&r).iter().all(|c| c != "service-not-found"),
        "{:?}",
        codes(&r)
    );
    assert!(not_checked(&r, "the Service"));
}

#[test]
fn malformed_snapshots_exit_2_with_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "broken.json",
        "{\"kind\": \"List\",\n  \"items\": [\n    {\"kind\": \"Pod\",, }\n]}\n",
    );
    let run = run_path(&p, &["x"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("broken.json at line 3, column"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("SnapshotParse"),
        "no Debug dump: {}",
        run.stderr
    );

    let p = write(
        &dir,
        "broken.yaml",
        "kind: Pod\nmetadata:\n  name: [unclosed\n",
    );
    let run = run_path(&p, &["x"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("broken.yaml") && run.stderr.contains("line"),
        "{}",
        run.stderr
    );

    let run = run_path(&dir.path().join("missing.json"), &["x"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read snapshot") && run.stderr.contains("missing.json"),
        "{}",
        run.stderr
    );

    let p = write(&dir, "empty.json", "   \n");
    assert_eq!(run_path(&p, &["x"]).code, 2);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["Bad_Name", "--snapshot", "-"],
        vec!["svc.ns", "--snapshot", "-"],
        vec!["svc", "-n", "Not/A/Namespace", "--snapshot", "-"],
        vec!["svc", "-o", "xml", "--snapshot", "-"],
        vec!["svc", "--request-timeout", "soon"],
        vec!["svc", "--cluster-domain", "bad_domain"],
        vec!["svc", "--snapshot", "-", "--context", "prod"],
        vec!["svc", "--as-group", "admins"],
    ] {
        let out = cmd().args(&args).write_stdin("").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = cmd().args(["svc.ns", "--snapshot", "-"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("give the namespace with -n"));
}

#[test]
fn no_kubeconfig_is_an_actionable_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = cmd()
        .arg("svc")
        .env("HOME", home.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no kubeconfig found") && err.contains("--snapshot"),
        "{err}"
    );
}

#[test]
fn kubeconfig_list_skips_missing_files_and_an_unreachable_server_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let kc = write(
        &dir,
        "config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: secret-token-value\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: team-a\ncurrent-context: x\n",
    );
    let list = std::env::join_paths([dir.path().join("missing"), kc]).unwrap();
    let out = cmd()
        .args(["service-pay-v1", "--request-timeout", "5s"])
        .env("KUBECONFIG", list)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("cannot reach the API server"), "{err}");
    assert!(
        err.contains("in namespace team-a"),
        "the context's namespace is used: {err}"
    );
    assert!(
        !err.contains("secret-token-value"),
        "credentials are never printed"
    );
    let out_text = String::from_utf8_lossy(&out.stdout);
    assert!(!out_text.contains("secret-token-value"));
}

#[test]
fn events_k8s_io_v1_events_are_read_too() {
    // Replace the core/v1 pull-failure events with their events.k8s.io/v1 form.
    let mut s = scenario();
    let mut converted = Vec::new();
    for e in items(&mut s).iter().filter(|o| o["kind"] == "Event") {
        converted.push(json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": e["metadata"].clone(),
            "eventTime": null,
            "reason": e["reason"], "note": e["message"], "type": e["type"],
            "regarding": e["involvedObject"],
            "reportingController": "kubelet", "reportingInstance": "kwok-node-0",
            "deprecatedLastTimestamp": e["lastTimestamp"], "deprecatedCount": e["count"],
        }));
    }
    remove_kind(&mut s, "Event");
    items(&mut s).extend(converted);
    let (_, r) = diagnose(&s, &["service-v4"]);
    let f = with_code(&r, "image-pull-failure");
    assert!(
        f[0]["message"].as_str().unwrap().contains("does not exist"),
        "{}",
        f[0]["message"]
    );
}

#[test]
fn interrupt_exits_130() {
    // stdin stays open, so the snapshot read blocks until SIGINT.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .args(["svc", "--snapshot", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Keep stdin open until it has exited (wait_with_output would close it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
}

#[test]
fn truncated_and_corrupted_snapshots_never_panic() {
    // Cut the bundled example at many points and flip bytes: every run must
    // end in a report (0/1) or an input error (2), never a panic (101).
    let text = std::fs::read(fixture_path("scenario.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<Vec<u8>> = (1..40)
        .map(|i| text[..text.len() * i / 40].to_vec())
        .collect();
    for i in 1..20 {
        let mut t = text.clone();
        let at = t.len() * i / 20;
        t[at] = b"{}[]\",:0x"[i % 9];
        cases.push(t);
    }
    for (n, case) in cases.iter().enumerate() {
        let p = dir.path().join(format!("case-{n}.json"));
        std::fs::write(&p, case).unwrap();
        let run = run_path(&p, &["service-v4"]);
        assert!(
            matches!(run.code, 0..=2),
            "case {n}: exit {} stderr {}",
            run.code,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "case {n}: {}", run.stderr);
        if run.code == 2 {
            assert!(
                run.stderr.starts_with("error: malformed snapshot")
                    || run.stderr.starts_with("error: cannot read snapshot")
                    || run.stderr.contains("holds no Kubernetes object"),
                "case {n}: {}",
                run.stderr
            );
        }
    }
}

#[test]
fn request_timeout_bounds_each_request_against_a_silent_server() {
    // A server that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = write(
        &dir,
        "config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
        ),
    );
    let out = cmd()
        .args(["service-pay-v1", "--request-timeout", "1s", "--kubeconfig"])
        .arg(&kc)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    // The per-request timeout fired (not a transport error, not a hang).
    assert!(err.contains("timed out after 1s"), "{err}");
}

#[test]
fn input_without_a_kubernetes_object_is_an_input_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, what) in [
        ("notes.txt", "remember to capture the pods\n", "plain text"),
        ("number.yaml", "42\n", "a number"),
        ("empty-map.json", "{}\n", "an empty mapping"),
        (
            "no-kind.yaml",
            "metadata:\n  name: pay-v1\nspec: {}\n",
            "a mapping without `kind`",
        ),
        (
            "none.txt",
            "No resources found in default namespace.\n",
            "kubectl's \"No resources found in default namespace.\" message",
        ),
        (
            "unauthorized.txt",
            "error: You must be logged in to the server (Unauthorized)\n",
            "kubectl error message (\"error: You must be logged in to the server (Unauthorized)\")",
        ),
        (
            "forbidden.txt",
            "Error from server (Forbidden): pods is forbidden: User \"dev\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"\n",
            "kubectl error message",
        ),
        (
            "table.txt",
            "NAME                      READY   STATUS    RESTARTS   AGE\npay-v1-78447cf896-2kjxm   1/1     Running   0          5d\npay-v1-78447cf896-fmw22   1/1     Running   0          5d\n",
            "it looks like kubectl's table output; capture with -o json or -o yaml",
        ),
        (
            "table-all.txt",
            "NAMESPACE     NAME             TYPE        CLUSTER-IP    EXTERNAL-IP   PORT(S)        AGE\ndefault       service-pay-v1   NodePort    10.96.12.7    <none>        80:30114/TCP   5d\n",
            "kubectl's table output",
        ),
    ] {
        let p = write(&dir, name, text);
        let run = run_path(&p, &["service-pay-v1"]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{name}");
        assert!(
            run.stderr.contains(&format!(
                "snapshot {} holds no Kubernetes object: ",
                p.display()
            )),
            "{name}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(what), "{name}: {}", run.stderr);
    }

    // What `kubectl get -o json` prints for an empty namespace is a capture.
    let p = write(
        &dir,
        "empty-list.json",
        r#"{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}"#,
    );
    let run = run_path(&p, &["service-pay-v1"]);
    // Not an input error; a capture of nothing: the verdict is unknown.
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(not_checked(&run.json(), "the Service"));

    // Unknown kinds are objects (ignored), not an input error.
    let p = write(
        &dir,
        "ingress.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  namespace: default\n",
    );
    // (It holds nothing the verdict needs: unknown, exit 3, not exit 2.)
    assert_eq!(run_path(&p, &["service-pay-v1"]).code, 3);

    // A stray document beside objects is named with its number.
    let p = write(
        &dir,
        "stray.yaml",
        &format!("{}---\njust a note\n", to_yaml_docs(&scenario())),
    );
    let run = run_path(&p, &["service-pay-v1"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("is not a Kubernetes object: it is plain text"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_object_listed_twice_counts_once() {
    let once = run_on(&scenario(), &["service-pay-v1", "-o", "json"]);
    let r_once = once.json();
    assert_eq!(r_once["backends"].as_array().unwrap().len(), 2);

    // `kubectl get … -o json` run twice into one file.
    let text = serde_json::to_string_pretty(&scenario()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let twice = write(&dir, "twice.json", &format!("{text}\n{text}\n"));
    let r = run_path(&twice, &["service-pay-v1"]).json();
    assert_eq!(r, r_once);

    // A cluster-info dump tree plus a List of the same objects.
    let s = scenario();
    for ns in ["default", "kube-system"] {
        for (file, kind) in [("services.json", "Service"), ("pods.json", "Pod")] {
            let objs: Vec<Value> = s["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["kind"] == kind && o["metadata"]["namespace"] == ns)
                .cloned()
                .collect();
            let list = json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {}, "items": objs});
            write(&dir, &format!("tree/{ns}/{file}"), &list.to_string());
        }
    }
    write(&dir, "tree/all.json", &text);
    let r = run_path(&dir.path().join("tree"), &["service-pay-v1"]).json();
    assert_eq!(r["backends"], r_once["backends"]);
    assert_eq!(r["endpoints"], r_once["endpoints"]);
}

/// Run with a deadline: a hang fails the test instead of blocking it.
fn run_bounded(args: &[&std::ffi::OsStr], stdin: Option<Vec<u8>>) -> Run {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        if let Some(bytes) = stdin {
            let _ = input.write_all(&bytes); // the reader may stop early
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{args:?} did not finish within 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    feeder.join().unwrap();
    Run::from_output(child.wait_with_output().unwrap())
}

#[test]
fn fifos_sockets_and_devices_are_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("capture.json");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let snap = std::ffi::OsStr::new("--snapshot");
    let svc = std::ffi::OsStr::new("service-pay-v1");
    // Given as the path, and found in a directory: both refused at once.
    for (path, what) in [
        (fifo.as_os_str(), "a FIFO (named pipe), not a regular file"),
        (
            dir.path().as_os_str(),
            "a FIFO (named pipe), not a regular file",
        ),
        (
            std::ffi::OsStr::new("/dev/zero"),
            "a character device, not a regular file",
        ),
    ] {
        let run = run_bounded(&[svc, snap, path], None);
        assert_eq!(run.code, 2, "{path:?}: {}", run.stderr);
        assert!(run.stderr.contains(what), "{path:?}: {}", run.stderr);
        assert!(run.stderr.contains("`-`"), "{}", run.stderr);
    }
    let sock_path = dir.path().join("api.sock");
    let _sock = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    let run = run_bounded(&[svc, snap, sock_path.as_os_str()], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("a socket"), "{}", run.stderr);
}

#[test]
fn inputs_over_the_size_limit_are_refused_with_size_limit_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    let text = serde_json::to_string_pretty(&scenario()).unwrap();
    let p = write(&dir, "scenario.json", &text);
    let size = text.len();
    let run = run_path(&p, &["service-pay-v1", "--max-snapshot-size", "100kB"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "snapshot {} is {:.1} KiB, over the 100 kB limit; raise the limit with --max-snapshot-size",
            p.display(),
            size as f64 / 1024.0
        )),
        "{}",
        run.stderr
    );
    // Raised, it reads; the flag takes SI and binary units and plain bytes.
    for limit in ["1MB", "1MiB", &size.to_string()] {
        let run = run_path(&p, &["service-pay-v1", "--max-snapshot-size", limit]);
        assert_eq!(run.code, 0, "{limit}: {}", run.stderr);
    }

    // stdin is capped too: it stops reading past the limit.
    let s = std::ffi::OsStr::new;
    let run = run_bounded(
        &[
            s("service-pay-v1"),
            s("--snapshot"),
            s("-"),
            s("--max-snapshot-size"),
            s("64KiB"),
        ],
        Some(text.into_bytes()),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("snapshot <stdin> is more than 64 KiB, over the 64 KiB limit"),
        "{}",
        run.stderr
    );

    let out = cmd()
        .args(["x", "--snapshot", "-", "--max-snapshot-size", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a size such as 512MiB"));
}

/// A pod as `kubectl get pods -o yaml` prints it, about 3 kB with its
/// managedFields, numbered `i`.
fn generated_pod(template: &Value, i: usize) -> Value {
    let mut p = template.clone();
    let name = format!("pay-v1-78447cf896-g{i:05}");
    p["metadata"]["name"] = json!(name);
    p["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
    p["status"]["podIP"] = json!(format!("10.244.{}.{}", i / 250, i % 250 + 2));
    p["status"]["podIPs"] = json!([{"ip": p["status"]["podIP"].clone()}]);
    p
}

#[test]
fn a_5_mb_yaml_dump_of_1500_pods_reads() {
    let mut s = scenario();
    let template = find(&mut s, "Pod", "default", "pay-v1-").clone();
    let event = items(&mut s)
        .iter()
        .find(|o| o["kind"] == "Event" && o["involvedObject"]["kind"] == "Pod")
        .unwrap()
        .clone();
    let mut docs: Vec<String> = Vec::new();
    for o in s["items"].as_array().unwrap() {
        docs.push(serde_saphyr::to_string(o).unwrap());
    }
    // Each pod with the event of its scheduling, as a dump holds them.
    for i in 0..1500 {
        let pod = generated_pod(&template, i);
        let mut e = event.clone();
        e["metadata"]["name"] = json!(format!(
            "{}.{i:x}",
            pod["metadata"]["name"].as_str().unwrap()
        ));
        e["metadata"]["uid"] = json!(format!("00000000-0000-4000-9000-{i:012}"));
        e["involvedObject"]["name"] = pod["metadata"]["name"].clone();
        e["involvedObject"]["uid"] = pod["metadata"]["uid"].clone();
        docs.push(serde_saphyr::to_string(&pod).unwrap());
        docs.push(serde_saphyr::to_string(&e).unwrap());
    }
    let text = docs.join("---\n");
    assert!(docs.len() > 1024, "more documents than the YAML default");
    assert!(text.len() > 5_000_000, "{} bytes", text.len());
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "dump.yaml", &text);
    let run = run_path(&p, &["service-pay-v1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["backends"].as_array().unwrap().len(), 1502);
}

#[test]
fn a_yaml_alias_bomb_is_refused_quickly() {
    // "Billion laughs": nine levels of nine aliases expand to 9^9 strings.
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n  namespace: kube-system\ndata:\n  l0: &l0 \"lol\"\n",
    );
    for i in 1..=9 {
        let refs = vec![format!("*l{}", i - 1); 9].join(", ");
        text.push_str(&format!("  l{i}: &l{i} [{refs}]\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "bomb.yaml", &text);
    let run = run_bounded(
        &[
            std::ffi::OsStr::new("service-pay-v1"),
            std::ffi::OsStr::new("--snapshot"),
            p.as_os_str(),
        ],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("bomb.yaml") && run.stderr.contains("alias bomb"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_malformed_object_is_skipped_and_named_not_fatal() {
    let mut s = scenario();
    let pod = find(&mut s, "Pod", "default", "pay-v1-");
    let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
    pod["spec"]["containers"][0]["ports"][0]["containerPort"] = json!("eighty");
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 0);
    let entry = r["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["check"] == format!("read Pod default/{name}"))
        .unwrap_or_else(|| panic!("{}", r["not_checked"]));
    assert_eq!(
        entry["reason"],
        "spec.containers[0].ports[0].containerPort: invalid type: string \"eighty\", expected i32"
    );
    assert!(
        entry["needs"]
            .as_str()
            .unwrap()
            .contains(&format!("kubectl get pod {name} -n default -o json")),
        "{}",
        entry["needs"]
    );
    // The other pod is still diagnosed; the pods of default are incomplete,
    // so "no pod matches" cannot be claimed there.
    assert_eq!(r["backends"].as_array().unwrap().len(), 1);
    let (_, typo) = diagnose(&s, &["service-pay-typo"]);
    assert!(
        codes(&typo).iter().all(|c| c != "selector-matches-no-pods"),
        "{:?}",
        codes(&typo)
    );
    assert!(not_checked(&typo, "selector"), "{}", typo["not_checked"]);

    // A long offending value is cut; no Rust debug text.
    let mut s = scenario();
    let svc = find(&mut s, "Service", "default", "service-pay-v1");
    svc["spec"]["ports"][0]["port"] = json!("9".repeat(500));
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 3, "the Service itself is unknown, not missing");
    assert_eq!(r["verdict"], "unknown");
    assert!(codes(&r).iter().all(|c| c != "service-not-found"));
    let entry = r["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["check"] == "read Service default/service-pay-v1")
        .unwrap_or_else(|| panic!("{}", r["not_checked"]));
    let reason = entry["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!(
            "spec.ports[0].port: invalid type: string \"{}…\", expected i32",
            "9".repeat(60)
        )
    );
    let text = r["not_checked"].to_string();
    for debug in ["Some(", "Error {", "Value::", "Path {"] {
        assert!(!text.contains(debug), "{debug} in {text}");
    }
}

#[test]
fn hidden_files_and_directories_are_not_part_of_a_capture() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scenario.json"),
        serde_json::to_vec(&scenario()).unwrap(),
    )
    .unwrap();
    // A hidden directory with an unparseable JSON file (an editor's or a
    // tool's cache) would fail the whole read if it were walked.
    std::fs::create_dir(dir.path().join(".cache")).unwrap();
    std::fs::write(dir.path().join(".cache/index.json"), "{ not json").unwrap();
    std::fs::write(dir.path().join(".swap.json"), "{ not json").unwrap();
    let run = run_path(dir.path(), &["service-pay-v1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
