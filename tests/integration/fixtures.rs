//! The captured scenario, and small edits of it that produce each failure.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

pub use crate::run::{Run, not_checked};

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The objects of the bundled example, as `kubectl get -o json` returned them.
pub fn scenario() -> Value {
    let text = std::fs::read_to_string(fixture_path("scenario.json")).expect("read scenario.json");
    serde_json::from_str(&text).expect("scenario.json is JSON")
}

pub fn items(v: &mut Value) -> &mut Vec<Value> {
    v["items"].as_array_mut().expect("a List")
}

pub fn is(o: &Value, kind: &str, ns: &str, name_prefix: &str) -> bool {
    o["kind"] == kind
        && o["metadata"]["namespace"] == ns
        && o["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(name_prefix))
}

/// Mutable access to the first object that `is(kind, ns, name_prefix)`.
pub fn find<'a>(v: &'a mut Value, kind: &str, ns: &str, name_prefix: &str) -> &'a mut Value {
    items(v)
        .iter_mut()
        .find(|o| is(o, kind, ns, name_prefix))
        .unwrap_or_else(|| panic!("no {kind} {ns}/{name_prefix}* in the scenario"))
}

pub fn remove(v: &mut Value, kind: &str, ns: &str, name_prefix: &str) {
    let before = items(v).len();
    items(v).retain(|o| !is(o, kind, ns, name_prefix));
    assert!(
        items(v).len() < before,
        "nothing removed for {kind} {ns}/{name_prefix}"
    );
}

pub fn remove_kind(v: &mut Value, kind: &str) {
    items(v).retain(|o| o["kind"] != kind);
}

/// Run the binary.
pub fn cmd() -> Command {
    let mut c = Command::cargo_bin("kubectl-svcdiscover").expect("binary built");
    c.env_remove("KUBECONFIG").env("NO_COLOR", "1");
    c
}

/// Diagnose `service` in a snapshot given as JSON on stdin.
pub fn run_on(snapshot: &Value, args: &[&str]) -> Run {
    let out = cmd()
        .args(args)
        .args(["--snapshot", "-"])
        .write_stdin(serde_json::to_vec(snapshot).expect("encode"))
        .output()
        .expect("run");
    Run::from_output(out)
}

/// Diagnose with JSON output.
pub fn diagnose(snapshot: &Value, args: &[&str]) -> (i32, Value) {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let run = run_on(snapshot, &a);
    assert!(
        run.stderr.is_empty() || run.code == 3,
        "unexpected stderr: {}",
        run.stderr
    );
    let report = run.json();
    validate(&report);
    (run.code, report)
}

/// Every report must match the committed JSON Schema.
pub fn validate(report: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
        )
        .expect("schema"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match docs/report.schema.json: {errors:#?}"
    );
}

/// The findings with `code`.
pub fn with_code<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

pub fn codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The name-form row for `name` from `from` (None = the hypothetical row).
pub fn form<'a>(report: &'a Value, name: &str, from: Option<&str>) -> &'a Value {
    report["name_forms"]
        .as_array()
        .expect("name_forms")
        .iter()
        .find(|r| r["name"] == name && r["from_namespace"] == json!(from))
        .unwrap_or_else(|| panic!("no name form {name} from {from:?}"))
}

/// Make `pod` not Ready, its first container waiting with `reason`/`message`,
/// as the kubelet reports it.
pub fn make_waiting(pod: &mut Value, reason: &str, message: &str) {
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    pod["status"]["containerStatuses"][0]["state"] =
        json!({"waiting": {"reason": reason, "message": message}});
    for c in pod["status"]["conditions"]
        .as_array_mut()
        .expect("conditions")
    {
        if c["type"] == "Ready" || c["type"] == "ContainersReady" {
            c["status"] = json!("False");
        }
    }
}
