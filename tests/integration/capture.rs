//! `--save-snapshot`: the Capture record round trip (state → file → state),
//! the file's form, and the flag's input errors.

use std::path::Path;

use serde_json::Value;
use svcdiscover::model::{ClusterState, Kind, ReadFailure};
use svcdiscover::source::capture::{CaptureTarget, Saving};
use svcdiscover::source::wire::apps::Deployment;
use svcdiscover::source::wire::core::{ConfigMap, Event, Namespace, Pod, Service};
use svcdiscover::source::wire::discovery::EndpointSlice;
use svcdiscover::source::{convert, snapshot};

use crate::fixtures::*;

/// The scenario's objects, decoded as the API returns them, kept for a
/// capture and converted to the model as a live read does; the coverage
/// and failures of a read of `default` and `kube-system`, one of them
/// forbidden.
fn live_like(saving: &Saving) -> ClusterState {
    let kept = saving.kept().expect("a capture keeps objects");
    let mut st = ClusterState::default();
    let mut scenario = scenario();
    for o in items(&mut scenario).drain(..) {
        // As the API returns it: with managedFields, which the file drops.
        let mut o = o;
        o["metadata"]["managedFields"] = serde_json::json!([{"manager": "kubectl"}]);
        // As a list item: without apiVersion and kind, which keeping adds.
        let api_version = o["apiVersion"].as_str().unwrap().to_owned();
        let kind = o["kind"].as_str().unwrap().to_owned();
        let text = {
            let mut item = o.clone();
            let m = item.as_object_mut().unwrap();
            m.remove("apiVersion");
            m.remove("kind");
            item.to_string()
        };
        let read = [
            "Service",
            "Pod",
            "EndpointSlice",
            "Event",
            "Namespace",
            "Deployment",
            "ConfigMap",
        ];
        if read.contains(&kind.as_str()) {
            kept.keep_text(&api_version, &kind, &text);
        }
        match kind.as_str() {
            "Service" => {
                let s: Service = serde_json::from_value(o).unwrap();
                st.services.push(convert::service(s));
            }
            "Pod" => {
                let p: Pod = serde_json::from_value(o).unwrap();
                st.pods.push(convert::pod(p));
            }
            "EndpointSlice" => {
                let e: EndpointSlice = serde_json::from_value(o).unwrap();
                st.endpoint_slices.push(convert::endpoint_slice(e));
            }
            "Event" => {
                let e: Event = serde_json::from_value(o).unwrap();
                st.events.push(convert::core_event(e));
            }
            "Namespace" => {
                let n: Namespace = serde_json::from_value(o).unwrap();
                st.namespaces.insert(n.metadata.name.unwrap());
            }
            "Deployment" => {
                let d: Deployment = serde_json::from_value(o).unwrap();
                st.workloads.push(convert::deployment(d));
            }
            "ConfigMap" => {
                let c: ConfigMap = serde_json::from_value(o).unwrap();
                st.config_maps.extend(convert::config_map(c));
            }
            _ => {}
        }
    }
    let c = &mut st.coverage;
    c.add_all(Kind::Namespace);
    c.add_named_everywhere(Kind::Service, "service-pay-v1");
    for ns in ["default", "kube-system"] {
        c.add_namespace(Kind::Service, ns);
        c.add_namespace(Kind::EndpointSlice, ns);
        c.add_namespace(Kind::Pod, ns);
    }
    c.add_object(Kind::ConfigMap, "kube-system", "coredns");
    c.add_object(Kind::DaemonSet, "kube-system", "node-local-dns");
    c.add_selection(
        Kind::Pod,
        "client",
        &[("app".to_owned(), "pay".to_owned())].into(),
    );
    c.add_selection_everywhere(Kind::Pod, &[("app".to_owned(), "gone".to_owned())].into());
    st.failures.push(ReadFailure {
        verb: "list",
        kind: Kind::Event,
        namespace: Some("default".to_owned()),
        reason: "events is forbidden: User \"e2e\" cannot list resource \"events\"".to_owned(),
        forbidden: true,
        required: false,
    });
    st
}

fn sorted<T: Clone, K: Ord>(v: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_by_key(key);
    v
}

#[test]
fn a_capture_reads_back_to_the_same_objects_coverage_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.json");
    let saving = Saving::start(Some(&path)).unwrap();
    let st = live_like(&saving);
    let target = CaptureTarget::Service {
        namespace: "default".into(),
        name: "service-pay-v1".into(),
    };
    saving.finish(&st, target, Some("10.0.0.1".into())).unwrap();

    let back = snapshot::load(&path, snapshot::DEFAULT_MAX_SIZE).unwrap();
    assert_eq!(
        back.coverage, st.coverage,
        "the record's coverage, not inferred"
    );
    assert_eq!(back.failures, st.failures);
    let svc_key = |s: &svcdiscover::model::Service| (s.namespace.clone(), s.name.clone());
    assert_eq!(
        sorted(&back.services, svc_key),
        sorted(&st.services, svc_key)
    );
    let pod_key = |p: &svcdiscover::model::Pod| (p.namespace.clone(), p.name.clone());
    assert_eq!(sorted(&back.pods, pod_key), sorted(&st.pods, pod_key));
    let slice_key = |s: &svcdiscover::model::EndpointSlice| (s.namespace.clone(), s.name.clone());
    assert_eq!(
        sorted(&back.endpoint_slices, slice_key),
        sorted(&st.endpoint_slices, slice_key)
    );
    assert_eq!(back.events.len(), st.events.len());
    assert_eq!(back.namespaces, st.namespaces);
    assert_eq!(back.config_maps, st.config_maps);
    let wl_key = |w: &svcdiscover::model::Workload| (w.namespace.clone(), w.name.clone());
    assert_eq!(
        sorted(&back.workloads, wl_key),
        sorted(&st.workloads, wl_key)
    );
    assert!(back.skipped.is_empty(), "{:?}", back.skipped);

    // The same diagnosis from both.
    let t = svcdiscover::analysis::Target {
        namespace: "default".into(),
        name: "service-pay-v1".into(),
    };
    let opts = svcdiscover::analysis::Options::default();
    let a = serde_json::to_value(svcdiscover::analysis::diagnose(&st, &t, &opts)).unwrap();
    let b = serde_json::to_value(svcdiscover::analysis::diagnose(&back, &t, &opts)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn the_file_is_a_kubectl_list_with_one_capture_record_and_no_managed_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    let saving = Saving::start(Some(&path)).unwrap();
    let st = live_like(&saving);
    let target = CaptureTarget::Scan {
        namespace: None,
        label_selector: Some("tier=web".into()),
    };
    saving.finish(&st, target, Some("10.0.0.1".into())).unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["c.json"], "no temporary file left");

    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["apiVersion"], "v1");
    assert_eq!(v["kind"], "List");
    let items = v["items"].as_array().unwrap();
    let record = &items[0];
    assert_eq!(record["apiVersion"], "svcdiscover.io/v1");
    assert_eq!(record["kind"], "Capture");
    assert_eq!(record["server"], "10.0.0.1");
    assert_eq!(record["target"]["scan"]["labelSelector"], "tier=web");
    assert!(
        record["tool"]
            .as_str()
            .unwrap()
            .starts_with("kubectl-svcdiscover ")
    );
    assert!(record["capturedAt"].as_str().unwrap().ends_with('Z'));
    assert!(
        record["reads"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"kind": "Service", "name": "service-pay-v1"}))
    );
    assert_eq!(record["failures"][0]["forbidden"], true);
    for o in &items[1..] {
        assert!(o["kind"].is_string() && o["apiVersion"].is_string(), "{o}");
        assert!(o["metadata"].get("managedFields").is_none(), "{o}");
    }
    // Each object once (the scenario has each once).
    assert_eq!(items.len() - 1, 74, "every kept object");
    // Nothing from a kubeconfig.
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in ["token", "client-key", "password"] {
        assert!(!record.to_string().contains(secret), "{secret}");
    }
    assert!(!text.contains("managedFields"));
}

#[test]
fn the_record_overrides_the_inference_for_its_file_only() {
    // Namespace objects and Services of two namespaces in one List: inferred,
    // that is a cluster-wide capture of Services. The record says only the
    // Service `a/s1` was read.
    let dir = tempfile::tempdir().unwrap();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [
        {"apiVersion": "svcdiscover.io/v1", "kind": "Capture", "tool": "kubectl-svcdiscover 0",
         "capturedAt": "2026-01-01T00:00:00Z", "target": {"service": {"namespace": "a", "name": "s1"}},
         "reads": [{"kind": "Service", "namespace": "a", "name": "s1"}], "failures": []},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1", "namespace": "a"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s2", "namespace": "b"}},
    ]});
    std::fs::write(dir.path().join("capture.json"), list.to_string()).unwrap();
    let st = snapshot::load(&dir.path().join("capture.json"), 1 << 20).unwrap();
    assert!(!st.coverage.covers_all(Kind::Service));
    assert!(!st.coverage.covers(Kind::Service, "b"));
    assert!(
        !st.coverage.covers_all(Kind::Namespace),
        "not in the record"
    );
    assert!(st.coverage.covers_object(Kind::Service, "a", "s1"));
    assert_eq!(st.services.len(), 2, "the objects are read all the same");

    // Another file of the same directory keeps the inference rule.
    let pods = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "c"}}]});
    std::fs::write(dir.path().join("pods.json"), pods.to_string()).unwrap();
    let st = snapshot::load(dir.path(), 1 << 20).unwrap();
    assert!(st.coverage.covers(Kind::Pod, "c"));
    assert!(!st.coverage.covers(Kind::Service, "b"));
}

#[test]
fn a_malformed_or_second_record_is_an_input_error() {
    let record = serde_json::json!({"apiVersion": "svcdiscover.io/v1", "kind": "Capture",
        "tool": "x", "capturedAt": "t", "target": {"service": {"namespace": "a", "name": "s"}},
        "reads": [{"kind": "Gadget"}]});
    let run = run_on(
        &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [record]}),
        &["s", "-n", "a"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("the Capture record does not read"),
        "{}",
        run.stderr
    );

    let ok = serde_json::json!({"apiVersion": "svcdiscover.io/v1", "kind": "Capture",
        "tool": "x", "capturedAt": "t", "target": {"service": {"namespace": "a", "name": "s"}},
        "reads": []});
    let run = run_on(
        &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [ok.clone(), ok]}),
        &["s", "-n", "a"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("two svcdiscover.io/v1 Capture records"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unwritable_path_is_refused_before_any_request() {
    // A server nothing listens on: the error must come before any request.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/c.json");
    let out = cmd()
        .args(["web", "--server", "https://127.0.0.1:9", "--no-probe"])
        .arg("--save-snapshot")
        .arg(&missing)
        .output()
        .unwrap();
    let run = Run::from_output(out);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot write the capture") && run.stderr.contains("does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    for (args, says) in [
        (
            &["web", "--save-snapshot", "-"][..],
            "the report goes to stdout",
        ),
        (
            &["web", "--snapshot", "x.json", "--save-snapshot", "y.json"][..],
            "cannot be used with",
        ),
    ] {
        let out = cmd()
            .args(args)
            .args(["--server", "https://127.0.0.1:9", "--no-probe"])
            .output()
            .unwrap();
        let run = Run::from_output(out);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    assert!(!Path::new("-").exists());
}
