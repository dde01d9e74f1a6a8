//! `--save-snapshot`: a live run's capture, replayed with `--snapshot`,
//! gives the same report.

use serde_json::Value;

use crate::cluster::*;

/// Top-level report fields that may name the source, and so may differ
/// between a live run and its replay. None today: a report does not say
/// where its state came from, and a `--no-probe` run has `probe: null` as a
/// replay does. Kept explicit so that a field that starts naming the
/// source is added here knowingly.
const SOURCE_FIELDS: &[&str] = &[];

/// The top-level fields of two reports that differ, outside SOURCE_FIELDS.
fn differing(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    a.keys()
        .chain(b.keys())
        .filter(|k| !SOURCE_FIELDS.contains(&k.as_str()))
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}:\n live   {}\n replay {}", a[k], b[k]))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Run `args` live with `--save-snapshot`, then replay the file with the
/// same target; assert both exit with `code` (`-1`: whatever the live run
/// exits with) and report the same.
pub(crate) fn live_then_replay(c: &Cluster, args: &[&str], code: i32) -> (Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("capture.json");
    let file = file.to_str().unwrap();
    let mut live_args = args.to_vec();
    // A scan probes only when asked (and refuses --no-probe as a probe flag).
    if !args.contains(&"--all") && !args.contains(&"-A") {
        live_args.push("--no-probe");
    }
    live_args.extend(["-o", "json", "--save-snapshot", file]);
    let live = c.svcdiscover(&live_args);
    let code = if code == -1 { live.code } else { code };
    assert_eq!(live.code, code, "live {args:?}: {}", live.stderr);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let capture: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(capture["kind"], "List");
    assert_eq!(capture["items"][0]["kind"], "Capture");
    assert_eq!(capture["items"][0]["server"], "127.0.0.1");

    // The replay: the same target, without `--as USER` (no cluster access).
    let mut replay_args: Vec<&str> = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        if *a == "--as" {
            rest.next();
        } else {
            replay_args.push(a);
        }
    }
    replay_args.extend(["-o", "json", "--snapshot", file]);
    let replay = c.svcdiscover(&replay_args);
    assert_eq!(
        replay.code, code,
        "replay {replay_args:?}: {}",
        replay.stderr
    );
    assert_eq!(replay.stderr, live.stderr, "the same errors on stderr");
    let (a, b) = (live.json(), replay.json());
    let diff = differing(&a, &b);
    assert!(diff.is_empty(), "{args:?}:\n{}", diff.join("\n"));
    (a, b)
}

pub fn a_service_replays_to_its_live_report(c: &Cluster) {
    let (live, _) = live_then_replay(c, &["service-pay-v1", "-n", "default"], 0);
    assert_eq!(live["service"]["found"], true);
    // A Service with findings, and one that does not exist.
    live_then_replay(c, &["web-unready", "-n", "trouble"], 1);
    let (missing, _) = live_then_replay(c, &["service-pay-v2", "-n", "default"], 1);
    assert_eq!(missing["service"]["found"], false);
}

pub fn a_scan_replays_to_its_live_report(c: &Cluster) {
    let (live, _) = live_then_replay(c, &["--all", "-n", "trouble"], 1);
    assert_eq!(live["kind"], "Scan");
    assert!(live["summary"]["services"].as_u64().unwrap() > 1, "{live}");
    live_then_replay(c, &["--all", "-n", "default"], 1);
}

pub fn a_forbidden_read_stays_forbidden_in_the_replay(c: &Cluster) {
    // e2e-no-pods may read Services, EndpointSlices and Events in `default`,
    // not Pods: the required pod read fails (exit 3), live and replayed.
    let (live, replay) = live_then_replay(
        c,
        &["service-pay-v1", "-n", "default", "--as", "e2e-no-pods"],
        3,
    );
    for r in [&live, &replay] {
        assert_eq!(r["verdict"], "unknown");
        let forbidden = r["not_checked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["reason"].as_str().unwrap().starts_with("forbidden: "));
        assert!(forbidden, "{}", r["not_checked"]);
    }
}

pub fn a_partly_read_scan_replays_with_its_gaps(c: &Cluster) {
    // e2e-some-namespaces reads `default` and `trouble` one by one (its
    // all-namespaces lists are forbidden): the record keeps those reads and
    // the forbidden ones, so the replay scans the same Services and names
    // the same namespaces as not read.
    let (live, _) = live_then_replay(c, &["-A", "--as", "e2e-some-namespaces"], -1);
    assert!(
        !live["summary"]["not_checked"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        live["summary"]
    );
    assert!(live["summary"]["services"].as_u64().unwrap() > 0);
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "a_service_replays_to_its_live_report",
        a_service_replays_to_its_live_report,
    ),
    (
        "a_scan_replays_to_its_live_report",
        a_scan_replays_to_its_live_report,
    ),
    (
        "a_forbidden_read_stays_forbidden_in_the_replay",
        a_forbidden_read_stays_forbidden_in_the_replay,
    ),
    (
        "a_partly_read_scan_replays_with_its_gaps",
        a_partly_read_scan_replays_with_its_gaps,
    ),
];
